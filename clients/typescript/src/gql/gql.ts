/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AcceptWaitlistOffer($id: UUID!) {\n  acceptWaitlistOffer(id: $id) {\n    id\n    startsAt\n    endsAt\n    status\n  }\n}\n\nmutation DeclineWaitlistOffer($id: UUID!) {\n  declineWaitlistOffer(id: $id) {\n    id\n    status\n  }\n}\n\nmutation LeaveWaitlist($id: UUID!) {\n  leaveWaitlist(id: $id) {\n    id\n    status\n  }\n}": typeof types.AcceptWaitlistOfferDocument,
    "subscription AppointmentEvents {\n  appointmentEvents {\n    kind\n    status\n    startsAt\n    at\n    appointment {\n      id\n      startsAt\n      status\n    }\n  }\n}": typeof types.AppointmentEventsDocument,
    "query Appointments($first: Int, $after: String) {\n  appointments(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        startsAt\n        status\n        reasonForVisit\n        doctor {\n          id\n          firstName\n          lastName\n          doctorProfile {\n            specialty\n          }\n        }\n        patient {\n          id\n          firstName\n          lastName\n        }\n      }\n    }\n  }\n}": typeof types.AppointmentsDocument,
    "query AvailableSlots($doctorId: UUID!, $from: DateTime!, $to: DateTime!, $visitTypeId: UUID) {\n  availableSlots(\n    doctorId: $doctorId\n    from: $from\n    to: $to\n    visitTypeId: $visitTypeId\n  ) {\n    startsAt\n    endsAt\n  }\n}": typeof types.AvailableSlotsDocument,
    "mutation CancelAppointmentSeries($id: UUID!, $fromOccurrence: Int, $reason: String) {\n  cancelAppointmentSeries(\n    id: $id\n    fromOccurrence: $fromOccurrence\n    reason: $reason\n  ) {\n    id\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      status\n    }\n  }\n}": typeof types.CancelAppointmentSeriesDocument,
    "mutation CreateAppointment($input: CreateAppointmentInput!) {\n  createAppointment(input: $input) {\n    id\n    startsAt\n    endsAt\n    date\n    time\n    status\n    reasonForVisit\n    lateCancellation\n    visitType {\n      id\n      name\n      durationMinutes\n    }\n    doctor {\n      id\n      firstName\n      lastName\n    }\n    patient {\n      id\n      firstName\n      lastName\n    }\n  }\n}": typeof types.CreateAppointmentDocument,
    "mutation CreateAppointmentSeries($input: CreateAppointmentInput!, $recurrence: RecurrenceInput!) {\n  createAppointmentSeries(input: $input, recurrence: $recurrence) {\n    id\n    intervalWeeks\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      date\n      time\n      status\n    }\n  }\n}": typeof types.CreateAppointmentSeriesDocument,
    "mutation CreateVisitType($doctorId: UUID, $input: VisitTypeInput!) {\n  createVisitType(doctorId: $doctorId, input: $input) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    patientBookable\n    active\n  }\n}": typeof types.CreateVisitTypeDocument,
    "mutation CreateWebhookEndpoint($url: String!, $events: [WebhookEvent!]!) {\n  createWebhookEndpoint(url: $url, events: $events) {\n    secret\n    endpoint {\n      id\n      url\n      events\n      active\n    }\n  }\n}": typeof types.CreateWebhookEndpointDocument,
    "query Doctors($first: Int, $after: String, $search: String) {\n  doctors(first: $first, after: $after, search: $search) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        firstName\n        lastName\n        doctorProfile {\n          specialty\n          experienceYears\n          timeZone\n          slotMinutes\n          availability {\n            weekday\n            startTime\n            endTime\n          }\n        }\n      }\n    }\n  }\n}": typeof types.DoctorsDocument,
    "mutation JoinWaitlist($input: JoinWaitlistInput!) {\n  joinWaitlist(input: $input) {\n    id\n    status\n    earliest\n    latest\n    createdAt\n    replacesAppointment {\n      id\n      startsAt\n    }\n  }\n}": typeof types.JoinWaitlistDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    tokenType\n    expiresIn\n    user {\n      id\n      email\n      firstName\n      lastName\n      role\n    }\n  }\n}": typeof types.LoginDocument,
    "query Me {\n  me {\n    id\n    email\n    firstName\n    lastName\n    role\n    isActive\n    dateJoined\n    patientProfile {\n      dateOfBirth\n    }\n    doctorProfile {\n      specialty\n      timeZone\n      slotMinutes\n    }\n  }\n}": typeof types.MeDocument,
    "mutation SetAvailability($rules: [AvailabilityRuleInput!]!) {\n  setAvailability(rules: $rules) {\n    weekday\n    startTime\n    endTime\n  }\n}": typeof types.SetAvailabilityDocument,
    "mutation UpdateReminders($input: UpdateMeInput!) {\n  updateMe(input: $input) {\n    id\n    phone\n    emailReminders\n    smsReminders\n  }\n}": typeof types.UpdateRemindersDocument,
    "query VisitTypes($doctorId: UUID!, $includeInactive: Boolean) {\n  visitTypes(doctorId: $doctorId, includeInactive: $includeInactive) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    minNoticeMinutes\n    horizonDays\n    patientCancelCutoffMinutes\n    patientRescheduleCutoffMinutes\n    patientBookable\n    active\n  }\n}": typeof types.VisitTypesDocument,
    "query Waitlist($doctorId: UUID, $status: [WaitlistStatus!], $first: Int, $after: String) {\n  waitlist(doctorId: $doctorId, status: $status, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        status\n        earliest\n        latest\n        doctor {\n          id\n          firstName\n          lastName\n        }\n        visitType {\n          id\n          name\n        }\n        offer {\n          startsAt\n          endsAt\n          expiresAt\n        }\n      }\n    }\n  }\n}": typeof types.WaitlistDocument,
    "query WebhookDeliveries($endpointId: UUID, $status: WebhookDeliveryStatus, $first: Int, $after: String) {\n  webhookDeliveries(\n    endpointId: $endpointId\n    status: $status\n    first: $first\n    after: $after\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    nodes {\n      id\n      event\n      status\n      attempts\n      lastStatusCode\n      lastError\n      createdAt\n      nextAttemptAt\n      deliveredAt\n      endpoint {\n        id\n        url\n      }\n    }\n  }\n}": typeof types.WebhookDeliveriesDocument,
    "query WebhookEndpoints {\n  webhookEndpoints {\n    id\n    url\n    events\n    active\n    disabledReason\n    createdAt\n  }\n}": typeof types.WebhookEndpointsDocument,
};
const documents: Documents = {
    "mutation AcceptWaitlistOffer($id: UUID!) {\n  acceptWaitlistOffer(id: $id) {\n    id\n    startsAt\n    endsAt\n    status\n  }\n}\n\nmutation DeclineWaitlistOffer($id: UUID!) {\n  declineWaitlistOffer(id: $id) {\n    id\n    status\n  }\n}\n\nmutation LeaveWaitlist($id: UUID!) {\n  leaveWaitlist(id: $id) {\n    id\n    status\n  }\n}": types.AcceptWaitlistOfferDocument,
    "subscription AppointmentEvents {\n  appointmentEvents {\n    kind\n    status\n    startsAt\n    at\n    appointment {\n      id\n      startsAt\n      status\n    }\n  }\n}": types.AppointmentEventsDocument,
    "query Appointments($first: Int, $after: String) {\n  appointments(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        startsAt\n        status\n        reasonForVisit\n        doctor {\n          id\n          firstName\n          lastName\n          doctorProfile {\n            specialty\n          }\n        }\n        patient {\n          id\n          firstName\n          lastName\n        }\n      }\n    }\n  }\n}": types.AppointmentsDocument,
    "query AvailableSlots($doctorId: UUID!, $from: DateTime!, $to: DateTime!, $visitTypeId: UUID) {\n  availableSlots(\n    doctorId: $doctorId\n    from: $from\n    to: $to\n    visitTypeId: $visitTypeId\n  ) {\n    startsAt\n    endsAt\n  }\n}": types.AvailableSlotsDocument,
    "mutation CancelAppointmentSeries($id: UUID!, $fromOccurrence: Int, $reason: String) {\n  cancelAppointmentSeries(\n    id: $id\n    fromOccurrence: $fromOccurrence\n    reason: $reason\n  ) {\n    id\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      status\n    }\n  }\n}": types.CancelAppointmentSeriesDocument,
    "mutation CreateAppointment($input: CreateAppointmentInput!) {\n  createAppointment(input: $input) {\n    id\n    startsAt\n    endsAt\n    date\n    time\n    status\n    reasonForVisit\n    lateCancellation\n    visitType {\n      id\n      name\n      durationMinutes\n    }\n    doctor {\n      id\n      firstName\n      lastName\n    }\n    patient {\n      id\n      firstName\n      lastName\n    }\n  }\n}": types.CreateAppointmentDocument,
    "mutation CreateAppointmentSeries($input: CreateAppointmentInput!, $recurrence: RecurrenceInput!) {\n  createAppointmentSeries(input: $input, recurrence: $recurrence) {\n    id\n    intervalWeeks\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      date\n      time\n      status\n    }\n  }\n}": types.CreateAppointmentSeriesDocument,
    "mutation CreateVisitType($doctorId: UUID, $input: VisitTypeInput!) {\n  createVisitType(doctorId: $doctorId, input: $input) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    patientBookable\n    active\n  }\n}": types.CreateVisitTypeDocument,
    "mutation CreateWebhookEndpoint($url: String!, $events: [WebhookEvent!]!) {\n  createWebhookEndpoint(url: $url, events: $events) {\n    secret\n    endpoint {\n      id\n      url\n      events\n      active\n    }\n  }\n}": types.CreateWebhookEndpointDocument,
    "query Doctors($first: Int, $after: String, $search: String) {\n  doctors(first: $first, after: $after, search: $search) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        firstName\n        lastName\n        doctorProfile {\n          specialty\n          experienceYears\n          timeZone\n          slotMinutes\n          availability {\n            weekday\n            startTime\n            endTime\n          }\n        }\n      }\n    }\n  }\n}": types.DoctorsDocument,
    "mutation JoinWaitlist($input: JoinWaitlistInput!) {\n  joinWaitlist(input: $input) {\n    id\n    status\n    earliest\n    latest\n    createdAt\n    replacesAppointment {\n      id\n      startsAt\n    }\n  }\n}": types.JoinWaitlistDocument,
    "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    tokenType\n    expiresIn\n    user {\n      id\n      email\n      firstName\n      lastName\n      role\n    }\n  }\n}": types.LoginDocument,
    "query Me {\n  me {\n    id\n    email\n    firstName\n    lastName\n    role\n    isActive\n    dateJoined\n    patientProfile {\n      dateOfBirth\n    }\n    doctorProfile {\n      specialty\n      timeZone\n      slotMinutes\n    }\n  }\n}": types.MeDocument,
    "mutation SetAvailability($rules: [AvailabilityRuleInput!]!) {\n  setAvailability(rules: $rules) {\n    weekday\n    startTime\n    endTime\n  }\n}": types.SetAvailabilityDocument,
    "mutation UpdateReminders($input: UpdateMeInput!) {\n  updateMe(input: $input) {\n    id\n    phone\n    emailReminders\n    smsReminders\n  }\n}": types.UpdateRemindersDocument,
    "query VisitTypes($doctorId: UUID!, $includeInactive: Boolean) {\n  visitTypes(doctorId: $doctorId, includeInactive: $includeInactive) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    minNoticeMinutes\n    horizonDays\n    patientCancelCutoffMinutes\n    patientRescheduleCutoffMinutes\n    patientBookable\n    active\n  }\n}": types.VisitTypesDocument,
    "query Waitlist($doctorId: UUID, $status: [WaitlistStatus!], $first: Int, $after: String) {\n  waitlist(doctorId: $doctorId, status: $status, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        status\n        earliest\n        latest\n        doctor {\n          id\n          firstName\n          lastName\n        }\n        visitType {\n          id\n          name\n        }\n        offer {\n          startsAt\n          endsAt\n          expiresAt\n        }\n      }\n    }\n  }\n}": types.WaitlistDocument,
    "query WebhookDeliveries($endpointId: UUID, $status: WebhookDeliveryStatus, $first: Int, $after: String) {\n  webhookDeliveries(\n    endpointId: $endpointId\n    status: $status\n    first: $first\n    after: $after\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    nodes {\n      id\n      event\n      status\n      attempts\n      lastStatusCode\n      lastError\n      createdAt\n      nextAttemptAt\n      deliveredAt\n      endpoint {\n        id\n        url\n      }\n    }\n  }\n}": types.WebhookDeliveriesDocument,
    "query WebhookEndpoints {\n  webhookEndpoints {\n    id\n    url\n    events\n    active\n    disabledReason\n    createdAt\n  }\n}": types.WebhookEndpointsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AcceptWaitlistOffer($id: UUID!) {\n  acceptWaitlistOffer(id: $id) {\n    id\n    startsAt\n    endsAt\n    status\n  }\n}\n\nmutation DeclineWaitlistOffer($id: UUID!) {\n  declineWaitlistOffer(id: $id) {\n    id\n    status\n  }\n}\n\nmutation LeaveWaitlist($id: UUID!) {\n  leaveWaitlist(id: $id) {\n    id\n    status\n  }\n}"): (typeof documents)["mutation AcceptWaitlistOffer($id: UUID!) {\n  acceptWaitlistOffer(id: $id) {\n    id\n    startsAt\n    endsAt\n    status\n  }\n}\n\nmutation DeclineWaitlistOffer($id: UUID!) {\n  declineWaitlistOffer(id: $id) {\n    id\n    status\n  }\n}\n\nmutation LeaveWaitlist($id: UUID!) {\n  leaveWaitlist(id: $id) {\n    id\n    status\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription AppointmentEvents {\n  appointmentEvents {\n    kind\n    status\n    startsAt\n    at\n    appointment {\n      id\n      startsAt\n      status\n    }\n  }\n}"): (typeof documents)["subscription AppointmentEvents {\n  appointmentEvents {\n    kind\n    status\n    startsAt\n    at\n    appointment {\n      id\n      startsAt\n      status\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Appointments($first: Int, $after: String) {\n  appointments(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        startsAt\n        status\n        reasonForVisit\n        doctor {\n          id\n          firstName\n          lastName\n          doctorProfile {\n            specialty\n          }\n        }\n        patient {\n          id\n          firstName\n          lastName\n        }\n      }\n    }\n  }\n}"): (typeof documents)["query Appointments($first: Int, $after: String) {\n  appointments(first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        startsAt\n        status\n        reasonForVisit\n        doctor {\n          id\n          firstName\n          lastName\n          doctorProfile {\n            specialty\n          }\n        }\n        patient {\n          id\n          firstName\n          lastName\n        }\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AvailableSlots($doctorId: UUID!, $from: DateTime!, $to: DateTime!, $visitTypeId: UUID) {\n  availableSlots(\n    doctorId: $doctorId\n    from: $from\n    to: $to\n    visitTypeId: $visitTypeId\n  ) {\n    startsAt\n    endsAt\n  }\n}"): (typeof documents)["query AvailableSlots($doctorId: UUID!, $from: DateTime!, $to: DateTime!, $visitTypeId: UUID) {\n  availableSlots(\n    doctorId: $doctorId\n    from: $from\n    to: $to\n    visitTypeId: $visitTypeId\n  ) {\n    startsAt\n    endsAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CancelAppointmentSeries($id: UUID!, $fromOccurrence: Int, $reason: String) {\n  cancelAppointmentSeries(\n    id: $id\n    fromOccurrence: $fromOccurrence\n    reason: $reason\n  ) {\n    id\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      status\n    }\n  }\n}"): (typeof documents)["mutation CancelAppointmentSeries($id: UUID!, $fromOccurrence: Int, $reason: String) {\n  cancelAppointmentSeries(\n    id: $id\n    fromOccurrence: $fromOccurrence\n    reason: $reason\n  ) {\n    id\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      status\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateAppointment($input: CreateAppointmentInput!) {\n  createAppointment(input: $input) {\n    id\n    startsAt\n    endsAt\n    date\n    time\n    status\n    reasonForVisit\n    lateCancellation\n    visitType {\n      id\n      name\n      durationMinutes\n    }\n    doctor {\n      id\n      firstName\n      lastName\n    }\n    patient {\n      id\n      firstName\n      lastName\n    }\n  }\n}"): (typeof documents)["mutation CreateAppointment($input: CreateAppointmentInput!) {\n  createAppointment(input: $input) {\n    id\n    startsAt\n    endsAt\n    date\n    time\n    status\n    reasonForVisit\n    lateCancellation\n    visitType {\n      id\n      name\n      durationMinutes\n    }\n    doctor {\n      id\n      firstName\n      lastName\n    }\n    patient {\n      id\n      firstName\n      lastName\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateAppointmentSeries($input: CreateAppointmentInput!, $recurrence: RecurrenceInput!) {\n  createAppointmentSeries(input: $input, recurrence: $recurrence) {\n    id\n    intervalWeeks\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      date\n      time\n      status\n    }\n  }\n}"): (typeof documents)["mutation CreateAppointmentSeries($input: CreateAppointmentInput!, $recurrence: RecurrenceInput!) {\n  createAppointmentSeries(input: $input, recurrence: $recurrence) {\n    id\n    intervalWeeks\n    count\n    appointments {\n      id\n      occurrence\n      startsAt\n      date\n      time\n      status\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateVisitType($doctorId: UUID, $input: VisitTypeInput!) {\n  createVisitType(doctorId: $doctorId, input: $input) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    patientBookable\n    active\n  }\n}"): (typeof documents)["mutation CreateVisitType($doctorId: UUID, $input: VisitTypeInput!) {\n  createVisitType(doctorId: $doctorId, input: $input) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    patientBookable\n    active\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateWebhookEndpoint($url: String!, $events: [WebhookEvent!]!) {\n  createWebhookEndpoint(url: $url, events: $events) {\n    secret\n    endpoint {\n      id\n      url\n      events\n      active\n    }\n  }\n}"): (typeof documents)["mutation CreateWebhookEndpoint($url: String!, $events: [WebhookEvent!]!) {\n  createWebhookEndpoint(url: $url, events: $events) {\n    secret\n    endpoint {\n      id\n      url\n      events\n      active\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Doctors($first: Int, $after: String, $search: String) {\n  doctors(first: $first, after: $after, search: $search) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        firstName\n        lastName\n        doctorProfile {\n          specialty\n          experienceYears\n          timeZone\n          slotMinutes\n          availability {\n            weekday\n            startTime\n            endTime\n          }\n        }\n      }\n    }\n  }\n}"): (typeof documents)["query Doctors($first: Int, $after: String, $search: String) {\n  doctors(first: $first, after: $after, search: $search) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        firstName\n        lastName\n        doctorProfile {\n          specialty\n          experienceYears\n          timeZone\n          slotMinutes\n          availability {\n            weekday\n            startTime\n            endTime\n          }\n        }\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation JoinWaitlist($input: JoinWaitlistInput!) {\n  joinWaitlist(input: $input) {\n    id\n    status\n    earliest\n    latest\n    createdAt\n    replacesAppointment {\n      id\n      startsAt\n    }\n  }\n}"): (typeof documents)["mutation JoinWaitlist($input: JoinWaitlistInput!) {\n  joinWaitlist(input: $input) {\n    id\n    status\n    earliest\n    latest\n    createdAt\n    replacesAppointment {\n      id\n      startsAt\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    tokenType\n    expiresIn\n    user {\n      id\n      email\n      firstName\n      lastName\n      role\n    }\n  }\n}"): (typeof documents)["mutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    accessToken\n    refreshToken\n    tokenType\n    expiresIn\n    user {\n      id\n      email\n      firstName\n      lastName\n      role\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    email\n    firstName\n    lastName\n    role\n    isActive\n    dateJoined\n    patientProfile {\n      dateOfBirth\n    }\n    doctorProfile {\n      specialty\n      timeZone\n      slotMinutes\n    }\n  }\n}"): (typeof documents)["query Me {\n  me {\n    id\n    email\n    firstName\n    lastName\n    role\n    isActive\n    dateJoined\n    patientProfile {\n      dateOfBirth\n    }\n    doctorProfile {\n      specialty\n      timeZone\n      slotMinutes\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetAvailability($rules: [AvailabilityRuleInput!]!) {\n  setAvailability(rules: $rules) {\n    weekday\n    startTime\n    endTime\n  }\n}"): (typeof documents)["mutation SetAvailability($rules: [AvailabilityRuleInput!]!) {\n  setAvailability(rules: $rules) {\n    weekday\n    startTime\n    endTime\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation UpdateReminders($input: UpdateMeInput!) {\n  updateMe(input: $input) {\n    id\n    phone\n    emailReminders\n    smsReminders\n  }\n}"): (typeof documents)["mutation UpdateReminders($input: UpdateMeInput!) {\n  updateMe(input: $input) {\n    id\n    phone\n    emailReminders\n    smsReminders\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query VisitTypes($doctorId: UUID!, $includeInactive: Boolean) {\n  visitTypes(doctorId: $doctorId, includeInactive: $includeInactive) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    minNoticeMinutes\n    horizonDays\n    patientCancelCutoffMinutes\n    patientRescheduleCutoffMinutes\n    patientBookable\n    active\n  }\n}"): (typeof documents)["query VisitTypes($doctorId: UUID!, $includeInactive: Boolean) {\n  visitTypes(doctorId: $doctorId, includeInactive: $includeInactive) {\n    id\n    name\n    durationMinutes\n    bufferBeforeMinutes\n    bufferAfterMinutes\n    minNoticeMinutes\n    horizonDays\n    patientCancelCutoffMinutes\n    patientRescheduleCutoffMinutes\n    patientBookable\n    active\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Waitlist($doctorId: UUID, $status: [WaitlistStatus!], $first: Int, $after: String) {\n  waitlist(doctorId: $doctorId, status: $status, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        status\n        earliest\n        latest\n        doctor {\n          id\n          firstName\n          lastName\n        }\n        visitType {\n          id\n          name\n        }\n        offer {\n          startsAt\n          endsAt\n          expiresAt\n        }\n      }\n    }\n  }\n}"): (typeof documents)["query Waitlist($doctorId: UUID, $status: [WaitlistStatus!], $first: Int, $after: String) {\n  waitlist(doctorId: $doctorId, status: $status, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    edges {\n      node {\n        id\n        status\n        earliest\n        latest\n        doctor {\n          id\n          firstName\n          lastName\n        }\n        visitType {\n          id\n          name\n        }\n        offer {\n          startsAt\n          endsAt\n          expiresAt\n        }\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query WebhookDeliveries($endpointId: UUID, $status: WebhookDeliveryStatus, $first: Int, $after: String) {\n  webhookDeliveries(\n    endpointId: $endpointId\n    status: $status\n    first: $first\n    after: $after\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    nodes {\n      id\n      event\n      status\n      attempts\n      lastStatusCode\n      lastError\n      createdAt\n      nextAttemptAt\n      deliveredAt\n      endpoint {\n        id\n        url\n      }\n    }\n  }\n}"): (typeof documents)["query WebhookDeliveries($endpointId: UUID, $status: WebhookDeliveryStatus, $first: Int, $after: String) {\n  webhookDeliveries(\n    endpointId: $endpointId\n    status: $status\n    first: $first\n    after: $after\n  ) {\n    totalCount\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n    nodes {\n      id\n      event\n      status\n      attempts\n      lastStatusCode\n      lastError\n      createdAt\n      nextAttemptAt\n      deliveredAt\n      endpoint {\n        id\n        url\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query WebhookEndpoints {\n  webhookEndpoints {\n    id\n    url\n    events\n    active\n    disabledReason\n    createdAt\n  }\n}"): (typeof documents)["query WebhookEndpoints {\n  webhookEndpoints {\n    id\n    url\n    events\n    active\n    disabledReason\n    createdAt\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;