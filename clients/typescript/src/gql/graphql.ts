/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * An instant, RFC 3339 `date-time`: `2026-12-01T09:00:00Z`. Inputs may carry any offset
   * (`2026-12-01T10:00:00+01:00`) and a fraction of a second; a leap second (`:60`) is refused.
   * Outputs are UTC with `Z`, with a fraction only when there is one.
   */
  DateTime: { input: string; output: string; }
  /**
   * A calendar date without a time zone, ISO 8601 `YYYY-MM-DD` (RFC 3339 `full-date`):
   * `2026-12-01`.
   */
  NaiveDate: { input: string; output: string; }
  /**
   * A time of day without a time zone, ISO 8601 extended format. Output `HH:MM:SS` (`09:00:00`);
   * input `HH:MM` or `HH:MM:SS` (`09:00`, `09:00:00`), two digits each, 00:00 to 23:59:59.
   * A leap second (`:60`) is refused, as in `DateTime`.
   */
  NaiveTime: { input: string; output: string; }
  /**
   * A UUID (RFC 9562), written in lower case with hyphens:
   * `0190b1a4-5c2e-7cc1-9d55-3f0c2a8e4b17`.
   */
  UUID: { input: string; output: string; }
};

export type Appointment = {
  __typename?: 'Appointment';
  cancellationReason?: Maybe<Scalars['String']['output']>;
  createdAt: Scalars['DateTime']['output'];
  /** Local date in the doctor's time zone. */
  date: Scalars['NaiveDate']['output'];
  doctor: User;
  endsAt: Scalars['DateTime']['output'];
  /** Every change, oldest first. */
  history: Array<AppointmentEvent>;
  id: Scalars['UUID']['output'];
  /** Cancelled (by anyone) less than `LATE_CANCEL_HOURS` before `startsAt`. */
  lateCancellation: Scalars['Boolean']['output'];
  /** Its 1-based position in its series (null for a single appointment). */
  occurrence?: Maybe<Scalars['Int']['output']>;
  patient: User;
  reasonForVisit: Scalars['String']['output'];
  /** The recurring series it belongs to (null for a single appointment). */
  series?: Maybe<AppointmentSeries>;
  startsAt: Scalars['DateTime']['output'];
  status: AppointmentStatus;
  /** Local time in the doctor's time zone. */
  time: Scalars['NaiveTime']['output'];
  updatedAt: Scalars['DateTime']['output'];
  /**
   * The visit type it was booked with (null when booked without one); it kept that type's
   * length, buffers and policy as they were then.
   */
  visitType?: Maybe<VisitType>;
};

export type AppointmentConnection = {
  __typename?: 'AppointmentConnection';
  /** A list of edges. */
  edges: Array<AppointmentEdge>;
  /** A list of nodes. */
  nodes: Array<Appointment>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  /** How many appointments match the filter, on all pages. */
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type AppointmentEdge = {
  __typename?: 'AppointmentEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: Appointment;
};

export type AppointmentEvent = {
  __typename?: 'AppointmentEvent';
  /** Who did it; null when done by the system, or when the viewer may not see that user. */
  actor?: Maybe<User>;
  appointment: Appointment;
  at: Scalars['DateTime']['output'];
  kind: AppointmentEventKind;
  /** Start time after the event. */
  startsAt: Scalars['DateTime']['output'];
  /** Status after the event. */
  status: AppointmentStatus;
};

/** What happened to an appointment. */
export type AppointmentEventKind =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CONFIRMED'
  | 'CREATED'
  | 'NO_SHOW'
  | 'RESCHEDULED';

export type AppointmentFilter = {
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  /** `startsAt` at or after this. */
  from?: InputMaybe<Scalars['DateTime']['input']>;
  patientId?: InputMaybe<Scalars['UUID']['input']>;
  /** Any of these statuses (empty or omitted: any status). */
  status?: InputMaybe<Array<AppointmentStatus>>;
  /** `startsAt` before this. */
  to?: InputMaybe<Scalars['DateTime']['input']>;
};

export type AppointmentSeries = {
  __typename?: 'AppointmentSeries';
  /** Its occurrences the viewer may see, in occurrence order (a cancelled or moved one stays). */
  appointments: Array<Appointment>;
  count: Scalars['Int']['output'];
  id: Scalars['UUID']['output'];
  intervalWeeks: Scalars['Int']['output'];
};

/** Where an appointment is in its life. */
export type AppointmentStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'CONFIRMED'
  | 'NO_SHOW'
  | 'PENDING';

export type AuditEntry = {
  __typename?: 'AuditEntry';
  /** e.g. `appointment.create`, `patient.read`, `auth.login_failed`. */
  action: Scalars['String']['output'];
  /** Null for anonymous or system actions. */
  actor?: Maybe<User>;
  at: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  /** Also the response's `x-request-id` and the request's log span. */
  requestId: Scalars['String']['output'];
  /** The user or appointment acted on. */
  subjectId?: Maybe<Scalars['UUID']['output']>;
};

export type AuditEntryConnection = {
  __typename?: 'AuditEntryConnection';
  /** A list of edges. */
  edges: Array<AuditEntryEdge>;
  /** A list of nodes. */
  nodes: Array<AuditEntry>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type AuditEntryEdge = {
  __typename?: 'AuditEntryEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: AuditEntry;
};

/** A signed-in session's tokens. */
export type AuthPayload = {
  __typename?: 'AuthPayload';
  accessToken: Scalars['String']['output'];
  /** Access token lifetime, seconds. */
  expiresIn: Scalars['Int']['output'];
  refreshToken: Scalars['String']['output'];
  /** Always "Bearer". */
  tokenType: Scalars['String']['output'];
  user: User;
};

/** One weekly window, in the doctor's time zone. */
export type AvailabilityRule = {
  __typename?: 'AvailabilityRule';
  endTime: Scalars['NaiveTime']['output'];
  startTime: Scalars['NaiveTime']['output'];
  weekday: Weekday;
};

export type AvailabilityRuleInput = {
  endTime: Scalars['NaiveTime']['input'];
  startTime: Scalars['NaiveTime']['input'];
  weekday: Weekday;
};

/** A calendar feed just created. The URL is its only credential and is shown only here. */
export type CalendarFeed = {
  __typename?: 'CalendarFeed';
  /** When this feed was created (an earlier one ended then). */
  createdAt: Scalars['DateTime']['output'];
  /** `<PUBLIC_URL>/calendar/<token>.ics`: subscribe a calendar app to it; keep it secret. */
  url: Scalars['String']['output'];
};

/**
 * That the viewer has a live calendar feed (`User.calendarFeed`, shown to the user themself only);
 * its URL is never shown again.
 */
export type CalendarFeedInfo = {
  __typename?: 'CalendarFeedInfo';
  /** When the live feed was created. */
  createdAt: Scalars['DateTime']['output'];
};

export type CreateAppointmentInput = {
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  /**
   * Book the time a live hold of this patient keeps (and consume the hold): the doctor, the
   * patient and the visit type default to the hold's and must match it when given, as
   * `startsAt` must.
   */
  holdId?: InputMaybe<Scalars['UUID']['input']>;
  patientId?: InputMaybe<Scalars['UUID']['input']>;
  reasonForVisit: Scalars['String']['input'];
  startsAt: Scalars['DateTime']['input'];
  /**
   * Length, buffers and policy of that type; absent: the doctor's `slotMinutes`, no buffers, no
   * policy.
   */
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
};

export type DoctorProfile = {
  __typename?: 'DoctorProfile';
  /** The weekly availability, by weekday and start. */
  availability: Array<AvailabilityRule>;
  experienceYears: Scalars['Int']['output'];
  /** Length of one appointment, minutes. */
  slotMinutes: Scalars['Int']['output'];
  specialty: Scalars['String']['output'];
  /** Time off that has not ended yet; only for the doctor themself and admins (null otherwise). */
  timeOff?: Maybe<Array<TimeOff>>;
  /** IANA name; availability is in this zone. */
  timeZone: Scalars['String']['output'];
  /** Set by an admin; only verified doctors are listed and bookable. */
  verified: Scalars['Boolean']['output'];
};

export type DoctorProfileInput = {
  experienceYears: Scalars['Int']['input'];
  /** 5..=240; default 30 (kept as it is on update when omitted). */
  slotMinutes?: InputMaybe<Scalars['Int']['input']>;
  specialty: Scalars['String']['input'];
  /** IANA name; default "UTC" (kept as it is on update when omitted). */
  timeZone?: InputMaybe<Scalars['String']['input']>;
};

/**
 * What an email is about. Stored as its name; sent as the `X-CyberMed-Kind` header in lower case
 * with dashes (`appointment-confirmed`).
 */
export type EmailKind =
  | 'APPOINTMENT_CANCELLED'
  | 'APPOINTMENT_CONFIRMED'
  | 'APPOINTMENT_REMINDER'
  | 'APPOINTMENT_REQUESTED'
  | 'APPOINTMENT_RESCHEDULED'
  | 'APPOINTMENT_SERIES'
  | 'EMAIL_CHANGED'
  | 'PASSWORD_RESET'
  | 'WAITLIST_OFFER'
  | 'WEBHOOK_DISABLED';

/** Where an email is in its life. */
export type EmailStatus =
  | 'FAILED'
  | 'PENDING'
  | 'SENT';

/** Gender as the user chose to state it (a private field). */
export type Gender =
  | 'FEMALE'
  | 'MALE'
  | 'OTHER'
  | 'UNDISCLOSED';

export type JoinWaitlistInput = {
  doctorId: Scalars['UUID']['input'];
  /** In the future. */
  earliest: Scalars['DateTime']['input'];
  /** After `earliest`, at most 90 days after it. Only an offer's start must lie before it. */
  latest: Scalars['DateTime']['input'];
  /** Required of a doctor or admin; a patient joins for themself. */
  patientId?: InputMaybe<Scalars['UUID']['input']>;
  /**
   * An active appointment of this patient with this doctor starting at or after `latest`: an
   * accepted offer cancels it in the same transaction.
   */
  replacesAppointmentId?: InputMaybe<Scalars['UUID']['input']>;
  /** The kind of visit waited for (its length, grid and policy); absent: the doctor's slot. */
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
};

/** A human-readable confirmation. */
export type MessagePayload = {
  __typename?: 'MessagePayload';
  message: Scalars['String']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Books the offered time (`PENDING`), cancelling the appointment it replaces in the same
   * transaction.
   */
  acceptWaitlistOffer: Appointment;
  /** Adds time off (doctors only). */
  addTimeOff: TimeOff;
  /** `PENDING|CONFIRMED → CANCELLED` (either party, admin). */
  cancelAppointment: Appointment;
  /**
   * Cancels the active occurrences numbered `fromOccurrence` and later, each as
   * `cancelAppointment` would (a patient's cutoff leaves those inside it as they are).
   */
  cancelAppointmentSeries: AppointmentSeries;
  /** Changes the viewer's password; every login of theirs ends. */
  changePassword: MessagePayload;
  /** `CONFIRMED → COMPLETED` once it has started (doctor, admin). */
  completeAppointment: Appointment;
  /** `PENDING → CONFIRMED` (doctor, admin). */
  confirmAppointment: Appointment;
  /**
   * Books an appointment: a patient with `doctorId`, a doctor with `patientId`, an admin with both;
   * or, with `holdId`, the time a hold keeps.
   */
  createAppointment: Appointment;
  /**
   * Books `recurrence.count` appointments `recurrence.intervalWeeks` weeks apart at the local
   * time of `input.startsAt` in the doctor's zone, each checked as `createAppointment` would;
   * all or none (the error of a failing occurrence names it in `extensions.occurrence` and
   * `extensions.startsAt`).
   */
  createAppointmentSeries: AppointmentSeries;
  /**
   * Creates the viewer's calendar feed (doctors and patients); an earlier feed's URL stops
   * working. The URL is shown only in this answer.
   */
  createCalendarFeed: CalendarFeed;
  /** DOCTOR (own), ADMIN (`doctorId` required). */
  createVisitType: VisitType;
  /**
   * Registers an endpoint for `events` (not empty); the answer holds its secret, shown only
   * here. `url` must be `https://` and name a public address (see `WEBHOOK_ALLOW_*`).
   */
  createWebhookEndpoint: WebhookSecretPayload;
  /** Puts the entry back in line (`WAITING`, its place kept); the time goes to the next. */
  declineWaitlistOffer: WaitlistEntry;
  /** Deletes an endpoint and its deliveries. */
  deleteWebhookEndpoint: Scalars['Boolean']['output'];
  /**
   * Keeps a time for a patient for `HOLD_TTL_SECS`: the patient for themself (`patientId` absent
   * or their own), a doctor at their own calendar for a patient, an admin for anyone. Checked as
   * a booking by that patient would be.
   */
  holdSlot: SlotHold;
  /**
   * Puts a patient in line for an earlier time with a doctor: a patient for themself, a doctor
   * (own calendar) or an admin on a patient's behalf.
   */
  joinWaitlist: WaitlistEntry;
  /** Ends a live entry (`LEFT`), withdrawing its offer. */
  leaveWaitlist: WaitlistEntry;
  /** Signs in. Throttled per email and per client address. */
  login: AuthPayload;
  /** Ends the login the refresh token belongs to. */
  logout: Scalars['Boolean']['output'];
  /** `CONFIRMED → NO_SHOW` once it has started (doctor, admin). */
  markNoShow: Appointment;
  /** Queues a `ping` to an active endpoint, whatever events it subscribed to. */
  pingWebhookEndpoint: WebhookDelivery;
  /**
   * Sends a delivery again: the same `webhook-id`, back to `PENDING` with its attempts at 0
   * (refused while it is pending, and for an inactive endpoint).
   */
  redeliverWebhook: WebhookDelivery;
  /** Trades a refresh token for a new pair; the old one is retired. */
  refreshToken: AuthPayload;
  /**
   * Creates an account and signs it in. Role `ADMIN` only for a signed-in admin. Throttled per
   * client address (admins excepted).
   */
  register: AuthPayload;
  /** Ends a hold early (its patient, or whoever placed it); false when it was not live. */
  releaseHold: Scalars['Boolean']['output'];
  /** Removes one of the viewer's periods of time off (doctors only, own only). */
  removeTimeOff: Scalars['Boolean']['output'];
  /** Emails a reset token if the account exists; the answer is the same either way. */
  requestPasswordReset: MessagePayload;
  /** Moves an active appointment; every booking check runs again. */
  rescheduleAppointment: Appointment;
  /** Sets a new password with an emailed token; every login of the user ends. */
  resetPassword: MessagePayload;
  /** Ends the viewer's calendar feed (doctors and patients): true when there was one. */
  revokeCalendarFeed: Scalars['Boolean']['output'];
  /** A new secret for an endpoint, shown only here; the old one still signs for 24 hours. */
  rotateWebhookSecret: WebhookSecretPayload;
  /** Replaces the viewer's whole weekly availability (doctors only). */
  setAvailability: Array<AvailabilityRule>;
  /** Activates or deactivates an account (admins only). */
  setUserActive: User;
  /** Changes an account's role (admins only). */
  setUserRole: User;
  /** Its doctor, ADMIN: an inactive type cannot be booked. */
  setVisitTypeActive: VisitType;
  /**
   * Edits the viewer's own account. Changing the email needs `currentPassword`, tells the old
   * address, and ends every other login of the viewer.
   */
  updateMe: User;
  /** Its doctor, ADMIN: replaces every setting (appointments already made keep theirs). */
  updateVisitType: VisitType;
  /**
   * Changes an endpoint's URL, events or `active` (turning it off fails its pending deliveries;
   * on again clears `disabledReason`).
   */
  updateWebhookEndpoint: WebhookEndpoint;
  /** Creates or updates the viewer's doctor profile (doctors only). */
  upsertDoctorProfile: DoctorProfile;
  /** Creates or updates the viewer's patient profile (patients only). */
  upsertPatientProfile: PatientProfile;
  /** Verifies a doctor or withdraws verification (admins only). The user must be a doctor with a profile. */
  verifyDoctor: User;
};


export type MutationAcceptWaitlistOfferArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationAddTimeOffArgs = {
  input: TimeOffInput;
};


export type MutationCancelAppointmentArgs = {
  id: Scalars['UUID']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationCancelAppointmentSeriesArgs = {
  fromOccurrence?: InputMaybe<Scalars['Int']['input']>;
  id: Scalars['UUID']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
};


export type MutationChangePasswordArgs = {
  newPassword: Scalars['String']['input'];
  oldPassword: Scalars['String']['input'];
};


export type MutationCompleteAppointmentArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationConfirmAppointmentArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationCreateAppointmentArgs = {
  input: CreateAppointmentInput;
};


export type MutationCreateAppointmentSeriesArgs = {
  input: CreateAppointmentInput;
  recurrence: RecurrenceInput;
};


export type MutationCreateVisitTypeArgs = {
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  input: VisitTypeInput;
};


export type MutationCreateWebhookEndpointArgs = {
  events: Array<WebhookEvent>;
  url: Scalars['String']['input'];
};


export type MutationDeclineWaitlistOfferArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationDeleteWebhookEndpointArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationHoldSlotArgs = {
  doctorId: Scalars['UUID']['input'];
  patientId?: InputMaybe<Scalars['UUID']['input']>;
  startsAt: Scalars['DateTime']['input'];
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
};


export type MutationJoinWaitlistArgs = {
  input: JoinWaitlistInput;
};


export type MutationLeaveWaitlistArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationLoginArgs = {
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
};


export type MutationLogoutArgs = {
  refreshToken: Scalars['String']['input'];
};


export type MutationMarkNoShowArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationPingWebhookEndpointArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRedeliverWebhookArgs = {
  id: Scalars['String']['input'];
};


export type MutationRefreshTokenArgs = {
  refreshToken: Scalars['String']['input'];
};


export type MutationRegisterArgs = {
  input: RegisterInput;
};


export type MutationReleaseHoldArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRemoveTimeOffArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationRequestPasswordResetArgs = {
  email: Scalars['String']['input'];
};


export type MutationRescheduleAppointmentArgs = {
  id: Scalars['UUID']['input'];
  startsAt: Scalars['DateTime']['input'];
};


export type MutationResetPasswordArgs = {
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
  token: Scalars['String']['input'];
};


export type MutationRotateWebhookSecretArgs = {
  id: Scalars['UUID']['input'];
};


export type MutationSetAvailabilityArgs = {
  rules: Array<AvailabilityRuleInput>;
};


export type MutationSetUserActiveArgs = {
  id: Scalars['UUID']['input'];
  isActive: Scalars['Boolean']['input'];
};


export type MutationSetUserRoleArgs = {
  id: Scalars['UUID']['input'];
  role: Role;
};


export type MutationSetVisitTypeActiveArgs = {
  active: Scalars['Boolean']['input'];
  id: Scalars['UUID']['input'];
};


export type MutationUpdateMeArgs = {
  input: UpdateMeInput;
};


export type MutationUpdateVisitTypeArgs = {
  id: Scalars['UUID']['input'];
  input: VisitTypeInput;
};


export type MutationUpdateWebhookEndpointArgs = {
  active?: InputMaybe<Scalars['Boolean']['input']>;
  events?: InputMaybe<Array<WebhookEvent>>;
  id: Scalars['UUID']['input'];
  url?: InputMaybe<Scalars['String']['input']>;
};


export type MutationUpsertDoctorProfileArgs = {
  input: DoctorProfileInput;
};


export type MutationUpsertPatientProfileArgs = {
  input: PatientProfileInput;
};


export type MutationVerifyDoctorArgs = {
  id: Scalars['UUID']['input'];
  verified: Scalars['Boolean']['input'];
};

export type OutboxEmail = {
  __typename?: 'OutboxEmail';
  appointmentId?: Maybe<Scalars['UUID']['output']>;
  /** Deliveries tried so far. */
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** When it may be sent (reminders: the appointment's start minus the lead; retries: later). */
  dueAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  kind: EmailKind;
  /** The transport's last error (its kind, no secrets). */
  lastError?: Maybe<Scalars['String']['output']>;
  sentAt?: Maybe<Scalars['DateTime']['output']>;
  status: EmailStatus;
  subject: Scalars['String']['output'];
  /** The recipient's address. */
  to: Scalars['String']['output'];
};

export type OutboxEmailConnection = {
  __typename?: 'OutboxEmailConnection';
  /** A list of edges. */
  edges: Array<OutboxEmailEdge>;
  /** A list of nodes. */
  nodes: Array<OutboxEmail>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type OutboxEmailEdge = {
  __typename?: 'OutboxEmailEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: OutboxEmail;
};

export type OutboxSms = {
  __typename?: 'OutboxSms';
  appointmentId?: Maybe<Scalars['UUID']['output']>;
  /** Deliveries tried so far. */
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  /**
   * When it may be sent (reminders: the appointment's start minus the lead; a time in the
   * quiet hours: their end; retries: later).
   */
  dueAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  kind: EmailKind;
  /** The transport's last error (its kind or the gateway's status, no number, no text). */
  lastError?: Maybe<Scalars['String']['output']>;
  /** The gateway's id of the message, when its answer gave one (`SMS_TRANSPORT=http`). */
  providerMessageId?: Maybe<Scalars['String']['output']>;
  sentAt?: Maybe<Scalars['DateTime']['output']>;
  status: EmailStatus;
  /** The number, masked: `+`, the first two digits, bullets, the last four (`+49•••••••5678`). */
  to: Scalars['String']['output'];
};

export type OutboxSmsConnection = {
  __typename?: 'OutboxSmsConnection';
  /** A list of edges. */
  edges: Array<OutboxSmsEdge>;
  /** A list of nodes. */
  nodes: Array<OutboxSms>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type OutboxSmsEdge = {
  __typename?: 'OutboxSmsEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: OutboxSms;
};

/** Information about pagination in a connection */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** When paginating forwards, the cursor to continue. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** When paginating forwards, are there more items? */
  hasNextPage: Scalars['Boolean']['output'];
  /** When paginating backwards, are there more items? */
  hasPreviousPage: Scalars['Boolean']['output'];
  /** When paginating backwards, the cursor to continue. */
  startCursor?: Maybe<Scalars['String']['output']>;
};

export type PatientProfile = {
  __typename?: 'PatientProfile';
  dateOfBirth: Scalars['NaiveDate']['output'];
  emergencyContactName: Scalars['String']['output'];
  emergencyContactPhone: Scalars['String']['output'];
};

export type PatientProfileInput = {
  dateOfBirth: Scalars['NaiveDate']['input'];
  emergencyContactName: Scalars['String']['input'];
  emergencyContactPhone: Scalars['String']['input'];
};

export type Query = {
  __typename?: 'Query';
  /** One appointment of the viewer's (admins: any); someone else's is `NOT_FOUND`. */
  appointment?: Maybe<Appointment>;
  /** The viewer's appointments, as patient or doctor (admins: all), newest `startsAt` first. */
  appointments: AppointmentConnection;
  /** The audit log, newest first (admins only). */
  auditLog: AuditEntryConnection;
  /**
   * Free slots of a doctor starting in `[from, to)` (at most 31 days), in order: the starts a
   * patient's booking would accept (with `visitTypeId`: that type's length, buffers, notice
   * and horizon).
   */
  availableSlots: Array<Slot>;
  /** Doctors: verified and active ones, except to admins, who see every doctor. */
  doctors: UserConnection;
  /** The signed-in user. */
  me: User;
  /**
   * The viewer's live holds, soonest first: a patient's own (whoever placed them); a doctor's or
   * admin's, those they placed.
   */
  myHolds: Array<SlotHold>;
  /** The emails the service has written, newest first (admins only). */
  outbox: OutboxEmailConnection;
  /**
   * The SMS the service has written, newest first (admins only), numbers masked, never the
   * text.
   */
  smsOutbox: OutboxSmsConnection;
  /**
   * A user the viewer may see: themself, any doctor; a patient only to admins and to doctors
   * who share an appointment with them. Otherwise `NOT_FOUND`.
   */
  user?: Maybe<User>;
  /** Every user (admins only), in sign-up order. */
  users: UserConnection;
  /**
   * A doctor's visit types: to the doctor and admins the active ones (and, with
   * `includeInactive`, the inactive ones too); to everyone else the active, patient-bookable
   * ones. By name.
   */
  visitTypes: Array<VisitType>;
  /**
   * Waitlist entries, first in first out: a patient's own, a doctor's (those for them), an
   * admin's all (optionally of one `doctorId`).
   */
  waitlist: WaitlistEntryConnection;
  /** Webhook deliveries, newest first (admins only). */
  webhookDeliveries: WebhookDeliveryConnection;
  /** Every webhook endpoint, oldest first (admins only). */
  webhookEndpoints: Array<WebhookEndpoint>;
};


export type QueryAppointmentArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryAppointmentsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<AppointmentFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


export type QueryAuditLogArgs = {
  actorId?: InputMaybe<Scalars['UUID']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  subjectId?: InputMaybe<Scalars['UUID']['input']>;
};


export type QueryAvailableSlotsArgs = {
  doctorId: Scalars['UUID']['input'];
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
};


export type QueryDoctorsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
  specialty?: InputMaybe<Scalars['String']['input']>;
};


export type QueryOutboxArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  appointmentId?: InputMaybe<Scalars['UUID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<EmailStatus>;
};


export type QuerySmsOutboxArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  appointmentId?: InputMaybe<Scalars['UUID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<EmailStatus>;
};


export type QueryUserArgs = {
  id: Scalars['UUID']['input'];
};


export type QueryUsersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  role?: InputMaybe<Role>;
  search?: InputMaybe<Scalars['String']['input']>;
};


export type QueryVisitTypesArgs = {
  doctorId: Scalars['UUID']['input'];
  includeInactive?: InputMaybe<Scalars['Boolean']['input']>;
};


export type QueryWaitlistArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<Array<WaitlistStatus>>;
};


export type QueryWebhookDeliveriesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  endpointId?: InputMaybe<Scalars['UUID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<WebhookDeliveryStatus>;
};

/** How a series repeats: every `intervalWeeks` weeks (1..=4), `count` times (2..=26). */
export type RecurrenceInput = {
  count: Scalars['Int']['input'];
  /** Weeks between occurrences (null: 1). */
  intervalWeeks?: InputMaybe<Scalars['Int']['input']>;
};

export type RegisterInput = {
  email: Scalars['String']['input'];
  firstName: Scalars['String']['input'];
  gender?: InputMaybe<Gender>;
  lastName: Scalars['String']['input'];
  password: Scalars['String']['input'];
  phone?: InputMaybe<Scalars['String']['input']>;
  role: Role;
};

/** What a user is in the clinic. Stored as its name. */
export type Role =
  | 'ADMIN'
  | 'DOCTOR'
  | 'PATIENT';

/** A free appointment slot. */
export type Slot = {
  __typename?: 'Slot';
  endsAt: Scalars['DateTime']['output'];
  startsAt: Scalars['DateTime']['output'];
};

export type SlotHold = {
  __typename?: 'SlotHold';
  doctor: User;
  endsAt: Scalars['DateTime']['output'];
  /** After this it blocks nothing (`HOLD_TTL_SECS` after it was made). */
  expiresAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  patient: User;
  startsAt: Scalars['DateTime']['output'];
  /** The visit type it was checked with (null: the doctor's `slotMinutes`). */
  visitType?: Maybe<VisitType>;
};

export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Every event of the viewer's own appointments (admins: all), as it happens. When events may
   * have been missed, the stream ends with one `EVENTS_MISSED` error: fetch again, then
   * subscribe again.
   */
  appointmentEvents: AppointmentEvent;
};

/** A period in which the doctor takes no appointments. */
export type TimeOff = {
  __typename?: 'TimeOff';
  endsAt: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  reason?: Maybe<Scalars['String']['output']>;
  startsAt: Scalars['DateTime']['output'];
};

export type TimeOffInput = {
  endsAt: Scalars['DateTime']['input'];
  reason?: InputMaybe<Scalars['String']['input']>;
  startsAt: Scalars['DateTime']['input'];
};

/** Partial update: an omitted field stays as it is; `null` clears a nullable field. */
export type UpdateMeInput = {
  address?: InputMaybe<Scalars['String']['input']>;
  bio?: InputMaybe<Scalars['String']['input']>;
  /** The viewer's current password: required when `email` changes. */
  currentPassword?: InputMaybe<Scalars['String']['input']>;
  email?: InputMaybe<Scalars['String']['input']>;
  /**
   * Appointment reminders by email; turning them off drops the pending ones, turning them on
   * queues those of the viewer's active future appointments whose leads have not passed.
   */
  emailReminders?: InputMaybe<Scalars['Boolean']['input']>;
  firstName?: InputMaybe<Scalars['String']['input']>;
  gender?: InputMaybe<Gender>;
  lastName?: InputMaybe<Scalars['String']['input']>;
  phone?: InputMaybe<Scalars['String']['input']>;
  /**
   * Appointment reminders and notices by SMS, the same way; turning them on needs an E.164
   * `phone` (`+` and 8 to 15 digits), given here or already set.
   */
  smsReminders?: InputMaybe<Scalars['Boolean']['input']>;
};

export type User = {
  __typename?: 'User';
  /** Private. */
  address?: Maybe<Scalars['String']['output']>;
  bio?: Maybe<Scalars['String']['output']>;
  /**
   * Only to the user themself (null for anyone else, admins included): that a live calendar
   * feed exists, and since when. Null when there is none.
   */
  calendarFeed?: Maybe<CalendarFeedInfo>;
  dateJoined: Scalars['DateTime']['output'];
  doctorProfile?: Maybe<DoctorProfile>;
  /** Private. */
  email?: Maybe<Scalars['String']['output']>;
  /** Private: appointment reminders by email (default on). */
  emailReminders?: Maybe<Scalars['Boolean']['output']>;
  firstName: Scalars['String']['output'];
  /** Private. */
  gender?: Maybe<Gender>;
  id: Scalars['UUID']['output'];
  isActive: Scalars['Boolean']['output'];
  isStaff: Scalars['Boolean']['output'];
  isSuperuser: Scalars['Boolean']['output'];
  lastName: Scalars['String']['output'];
  /** Private. */
  patientProfile?: Maybe<PatientProfile>;
  /** Private. */
  phone?: Maybe<Scalars['String']['output']>;
  role: Role;
  /** Private: appointment reminders and notices by SMS (default off; needs an E.164 `phone`). */
  smsReminders?: Maybe<Scalars['Boolean']['output']>;
};

export type UserConnection = {
  __typename?: 'UserConnection';
  /** A list of edges. */
  edges: Array<UserEdge>;
  /** A list of nodes. */
  nodes: Array<User>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  /** How many users match the filter, on all pages. */
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type UserEdge = {
  __typename?: 'UserEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: User;
};

export type VisitType = {
  __typename?: 'VisitType';
  active: Scalars['Boolean']['output'];
  /** 0..=120: the doctor's time kept free after each visit. */
  bufferAfterMinutes: Scalars['Int']['output'];
  /** 0..=120: the doctor's time kept free before each visit. */
  bufferBeforeMinutes: Scalars['Int']['output'];
  doctor: User;
  /** 5..=480. */
  durationMinutes: Scalars['Int']['output'];
  /** 1..=365: how far ahead a patient may book, in days of 24 hours (patients only). */
  horizonDays: Scalars['Int']['output'];
  id: Scalars['UUID']['output'];
  /** 0..=43200: how long ahead a patient must book (patients only). */
  minNoticeMinutes: Scalars['Int']['output'];
  /** 1..=60 characters, unique per doctor (ignoring case). */
  name: Scalars['String']['output'];
  /** Whether patients may book it (otherwise only its doctor and admins). */
  patientBookable: Scalars['Boolean']['output'];
  /** 0..=20160: a patient may not cancel later than this before the start. */
  patientCancelCutoffMinutes: Scalars['Int']['output'];
  /** 0..=20160: a patient may not reschedule later than this before the current start. */
  patientRescheduleCutoffMinutes: Scalars['Int']['output'];
};

/** Every setting of a visit type (an omitted optional one takes its default). */
export type VisitTypeInput = {
  bufferAfterMinutes?: InputMaybe<Scalars['Int']['input']>;
  bufferBeforeMinutes?: InputMaybe<Scalars['Int']['input']>;
  durationMinutes: Scalars['Int']['input'];
  horizonDays?: InputMaybe<Scalars['Int']['input']>;
  minNoticeMinutes?: InputMaybe<Scalars['Int']['input']>;
  name: Scalars['String']['input'];
  patientBookable?: InputMaybe<Scalars['Boolean']['input']>;
  patientCancelCutoffMinutes?: InputMaybe<Scalars['Int']['input']>;
  patientRescheduleCutoffMinutes?: InputMaybe<Scalars['Int']['input']>;
};

export type WaitlistEntry = {
  __typename?: 'WaitlistEntry';
  createdAt: Scalars['DateTime']['output'];
  doctor: User;
  earliest: Scalars['DateTime']['output'];
  id: Scalars['UUID']['output'];
  latest: Scalars['DateTime']['output'];
  /** Set while `OFFERED`. */
  offer?: Maybe<WaitlistOffer>;
  patient: User;
  /** The later appointment an accepted offer cancels. */
  replacesAppointment?: Maybe<Appointment>;
  status: WaitlistStatus;
  /** The kind of visit it waits for (null: the doctor's `slotMinutes`). */
  visitType?: Maybe<VisitType>;
};

export type WaitlistEntryConnection = {
  __typename?: 'WaitlistEntryConnection';
  /** A list of edges. */
  edges: Array<WaitlistEntryEdge>;
  /** A list of nodes. */
  nodes: Array<WaitlistEntry>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type WaitlistEntryEdge = {
  __typename?: 'WaitlistEntryEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: WaitlistEntry;
};

export type WaitlistOffer = {
  __typename?: 'WaitlistOffer';
  endsAt: Scalars['DateTime']['output'];
  /** After this the offer goes to the next in line (`WAITLIST_OFFER_TTL_SECS` after it was made). */
  expiresAt: Scalars['DateTime']['output'];
  startsAt: Scalars['DateTime']['output'];
};

/** Where a waitlist entry is in its life: `WAITING` and `OFFERED` are live. */
export type WaitlistStatus =
  | 'BOOKED'
  | 'EXPIRED'
  | 'LEFT'
  | 'OFFERED'
  | 'WAITING';

export type WebhookDelivery = {
  __typename?: 'WebhookDelivery';
  /** Attempts made so far (since the last redelivery). */
  attempts: Scalars['Int']['output'];
  createdAt: Scalars['DateTime']['output'];
  deliveredAt?: Maybe<Scalars['DateTime']['output']>;
  endpoint: WebhookEndpoint;
  event: WebhookEvent;
  /** `msg_<…>`: the `webhook-id` header, the same on every attempt and redelivery. */
  id: Scalars['String']['output'];
  /** Why the last attempt failed, in a few words (never a URL or a secret). */
  lastError?: Maybe<Scalars['String']['output']>;
  /** The HTTP status of the last answer, when there was one. */
  lastStatusCode?: Maybe<Scalars['Int']['output']>;
  /** When the next attempt is due (null once it is no longer pending). */
  nextAttemptAt?: Maybe<Scalars['DateTime']['output']>;
  status: WebhookDeliveryStatus;
};

export type WebhookDeliveryConnection = {
  __typename?: 'WebhookDeliveryConnection';
  /** A list of edges. */
  edges: Array<WebhookDeliveryEdge>;
  /** A list of nodes. */
  nodes: Array<WebhookDelivery>;
  /** Information to aid in pagination. */
  pageInfo: PageInfo;
  totalCount: Scalars['Int']['output'];
};

/** An edge in a connection. */
export type WebhookDeliveryEdge = {
  __typename?: 'WebhookDeliveryEdge';
  /** A cursor for use in pagination */
  cursor: Scalars['String']['output'];
  /** The item at the end of the edge */
  node: WebhookDelivery;
};

/** Where a webhook delivery is in its life. */
export type WebhookDeliveryStatus =
  | 'FAILED'
  | 'PENDING'
  | 'SUCCEEDED';

export type WebhookEndpoint = {
  __typename?: 'WebhookEndpoint';
  active: Scalars['Boolean']['output'];
  createdAt: Scalars['DateTime']['output'];
  /** Set when the service turned it off after deliveries failed in a row. */
  disabledReason?: Maybe<Scalars['String']['output']>;
  /** The events it subscribed to (a `ping` is sent whatever they are). */
  events: Array<WebhookEvent>;
  id: Scalars['UUID']['output'];
  url: Scalars['String']['output'];
};

/** What a webhook tells of; sent as the body's `type` (`appointment.created`, `ping`, …). */
export type WebhookEvent =
  | 'APPOINTMENT_CANCELLED'
  | 'APPOINTMENT_COMPLETED'
  | 'APPOINTMENT_CONFIRMED'
  | 'APPOINTMENT_CREATED'
  | 'APPOINTMENT_NO_SHOW'
  | 'APPOINTMENT_RESCHEDULED'
  | 'PING'
  | 'WAITLIST_OFFERED';

export type WebhookSecretPayload = {
  __typename?: 'WebhookSecretPayload';
  endpoint: WebhookEndpoint;
  /** `whsec_<base64>`: the key of the signatures (base64-decoded); never shown again. */
  secret: Scalars['String']['output'];
};

/** Day of the week, Monday first. */
export type Weekday =
  | 'FRI'
  | 'MON'
  | 'SAT'
  | 'SUN'
  | 'THU'
  | 'TUE'
  | 'WED';

export type AcceptWaitlistOfferMutationVariables = Exact<{
  id: Scalars['UUID']['input'];
}>;


export type AcceptWaitlistOfferMutation = { __typename?: 'Mutation', acceptWaitlistOffer: { __typename?: 'Appointment', id: string, startsAt: string, endsAt: string, status: AppointmentStatus } };

export type DeclineWaitlistOfferMutationVariables = Exact<{
  id: Scalars['UUID']['input'];
}>;


export type DeclineWaitlistOfferMutation = { __typename?: 'Mutation', declineWaitlistOffer: { __typename?: 'WaitlistEntry', id: string, status: WaitlistStatus } };

export type LeaveWaitlistMutationVariables = Exact<{
  id: Scalars['UUID']['input'];
}>;


export type LeaveWaitlistMutation = { __typename?: 'Mutation', leaveWaitlist: { __typename?: 'WaitlistEntry', id: string, status: WaitlistStatus } };

export type AppointmentEventsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type AppointmentEventsSubscription = { __typename?: 'Subscription', appointmentEvents: { __typename?: 'AppointmentEvent', kind: AppointmentEventKind, status: AppointmentStatus, startsAt: string, at: string, appointment: { __typename?: 'Appointment', id: string, startsAt: string, status: AppointmentStatus } } };

export type AppointmentsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type AppointmentsQuery = { __typename?: 'Query', appointments: { __typename?: 'AppointmentConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'AppointmentEdge', node: { __typename?: 'Appointment', id: string, startsAt: string, status: AppointmentStatus, reasonForVisit: string, doctor: { __typename?: 'User', id: string, firstName: string, lastName: string, doctorProfile?: { __typename?: 'DoctorProfile', specialty: string } | null }, patient: { __typename?: 'User', id: string, firstName: string, lastName: string } } }> } };

export type AvailableSlotsQueryVariables = Exact<{
  doctorId: Scalars['UUID']['input'];
  from: Scalars['DateTime']['input'];
  to: Scalars['DateTime']['input'];
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
}>;


export type AvailableSlotsQuery = { __typename?: 'Query', availableSlots: Array<{ __typename?: 'Slot', startsAt: string, endsAt: string }> };

export type CancelAppointmentSeriesMutationVariables = Exact<{
  id: Scalars['UUID']['input'];
  fromOccurrence?: InputMaybe<Scalars['Int']['input']>;
  reason?: InputMaybe<Scalars['String']['input']>;
}>;


export type CancelAppointmentSeriesMutation = { __typename?: 'Mutation', cancelAppointmentSeries: { __typename?: 'AppointmentSeries', id: string, count: number, appointments: Array<{ __typename?: 'Appointment', id: string, occurrence?: number | null, startsAt: string, status: AppointmentStatus }> } };

export type CreateAppointmentMutationVariables = Exact<{
  input: CreateAppointmentInput;
}>;


export type CreateAppointmentMutation = { __typename?: 'Mutation', createAppointment: { __typename?: 'Appointment', id: string, startsAt: string, endsAt: string, date: string, time: string, status: AppointmentStatus, reasonForVisit: string, lateCancellation: boolean, visitType?: { __typename?: 'VisitType', id: string, name: string, durationMinutes: number } | null, doctor: { __typename?: 'User', id: string, firstName: string, lastName: string }, patient: { __typename?: 'User', id: string, firstName: string, lastName: string } } };

export type CreateAppointmentSeriesMutationVariables = Exact<{
  input: CreateAppointmentInput;
  recurrence: RecurrenceInput;
}>;


export type CreateAppointmentSeriesMutation = { __typename?: 'Mutation', createAppointmentSeries: { __typename?: 'AppointmentSeries', id: string, intervalWeeks: number, count: number, appointments: Array<{ __typename?: 'Appointment', id: string, occurrence?: number | null, startsAt: string, date: string, time: string, status: AppointmentStatus }> } };

export type CreateVisitTypeMutationVariables = Exact<{
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  input: VisitTypeInput;
}>;


export type CreateVisitTypeMutation = { __typename?: 'Mutation', createVisitType: { __typename?: 'VisitType', id: string, name: string, durationMinutes: number, bufferBeforeMinutes: number, bufferAfterMinutes: number, patientBookable: boolean, active: boolean } };

export type CreateWebhookEndpointMutationVariables = Exact<{
  url: Scalars['String']['input'];
  events: Array<WebhookEvent> | WebhookEvent;
}>;


export type CreateWebhookEndpointMutation = { __typename?: 'Mutation', createWebhookEndpoint: { __typename?: 'WebhookSecretPayload', secret: string, endpoint: { __typename?: 'WebhookEndpoint', id: string, url: string, events: Array<WebhookEvent>, active: boolean } } };

export type DoctorsQueryVariables = Exact<{
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
}>;


export type DoctorsQuery = { __typename?: 'Query', doctors: { __typename?: 'UserConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'UserEdge', node: { __typename?: 'User', id: string, firstName: string, lastName: string, doctorProfile?: { __typename?: 'DoctorProfile', specialty: string, experienceYears: number, timeZone: string, slotMinutes: number, availability: Array<{ __typename?: 'AvailabilityRule', weekday: Weekday, startTime: string, endTime: string }> } | null } }> } };

export type HoldSlotMutationVariables = Exact<{
  doctorId: Scalars['UUID']['input'];
  startsAt: Scalars['DateTime']['input'];
  visitTypeId?: InputMaybe<Scalars['UUID']['input']>;
  patientId?: InputMaybe<Scalars['UUID']['input']>;
}>;


export type HoldSlotMutation = { __typename?: 'Mutation', holdSlot: { __typename?: 'SlotHold', id: string, startsAt: string, endsAt: string, expiresAt: string, visitType?: { __typename?: 'VisitType', id: string, name: string, durationMinutes: number } | null, doctor: { __typename?: 'User', id: string, firstName: string, lastName: string }, patient: { __typename?: 'User', id: string, firstName: string, lastName: string } } };

export type ReleaseHoldMutationVariables = Exact<{
  id: Scalars['UUID']['input'];
}>;


export type ReleaseHoldMutation = { __typename?: 'Mutation', releaseHold: boolean };

export type MyHoldsQueryVariables = Exact<{ [key: string]: never; }>;


export type MyHoldsQuery = { __typename?: 'Query', myHolds: Array<{ __typename?: 'SlotHold', id: string, startsAt: string, endsAt: string, expiresAt: string, doctor: { __typename?: 'User', id: string, lastName: string } }> };

export type JoinWaitlistMutationVariables = Exact<{
  input: JoinWaitlistInput;
}>;


export type JoinWaitlistMutation = { __typename?: 'Mutation', joinWaitlist: { __typename?: 'WaitlistEntry', id: string, status: WaitlistStatus, earliest: string, latest: string, createdAt: string, replacesAppointment?: { __typename?: 'Appointment', id: string, startsAt: string } | null } };

export type LoginMutationVariables = Exact<{
  email: Scalars['String']['input'];
  password: Scalars['String']['input'];
}>;


export type LoginMutation = { __typename?: 'Mutation', login: { __typename?: 'AuthPayload', accessToken: string, refreshToken: string, tokenType: string, expiresIn: number, user: { __typename?: 'User', id: string, email?: string | null, firstName: string, lastName: string, role: Role } } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { __typename?: 'Query', me: { __typename?: 'User', id: string, email?: string | null, firstName: string, lastName: string, role: Role, isActive: boolean, dateJoined: string, patientProfile?: { __typename?: 'PatientProfile', dateOfBirth: string } | null, doctorProfile?: { __typename?: 'DoctorProfile', specialty: string, timeZone: string, slotMinutes: number } | null } };

export type SetAvailabilityMutationVariables = Exact<{
  rules: Array<AvailabilityRuleInput> | AvailabilityRuleInput;
}>;


export type SetAvailabilityMutation = { __typename?: 'Mutation', setAvailability: Array<{ __typename?: 'AvailabilityRule', weekday: Weekday, startTime: string, endTime: string }> };

export type UpdateRemindersMutationVariables = Exact<{
  input: UpdateMeInput;
}>;


export type UpdateRemindersMutation = { __typename?: 'Mutation', updateMe: { __typename?: 'User', id: string, phone?: string | null, emailReminders?: boolean | null, smsReminders?: boolean | null } };

export type VisitTypesQueryVariables = Exact<{
  doctorId: Scalars['UUID']['input'];
  includeInactive?: InputMaybe<Scalars['Boolean']['input']>;
}>;


export type VisitTypesQuery = { __typename?: 'Query', visitTypes: Array<{ __typename?: 'VisitType', id: string, name: string, durationMinutes: number, bufferBeforeMinutes: number, bufferAfterMinutes: number, minNoticeMinutes: number, horizonDays: number, patientCancelCutoffMinutes: number, patientRescheduleCutoffMinutes: number, patientBookable: boolean, active: boolean }> };

export type WaitlistQueryVariables = Exact<{
  doctorId?: InputMaybe<Scalars['UUID']['input']>;
  status?: InputMaybe<Array<WaitlistStatus> | WaitlistStatus>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type WaitlistQuery = { __typename?: 'Query', waitlist: { __typename?: 'WaitlistEntryConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, edges: Array<{ __typename?: 'WaitlistEntryEdge', node: { __typename?: 'WaitlistEntry', id: string, status: WaitlistStatus, earliest: string, latest: string, doctor: { __typename?: 'User', id: string, firstName: string, lastName: string }, visitType?: { __typename?: 'VisitType', id: string, name: string } | null, offer?: { __typename?: 'WaitlistOffer', startsAt: string, endsAt: string, expiresAt: string } | null } }> } };

export type WebhookDeliveriesQueryVariables = Exact<{
  endpointId?: InputMaybe<Scalars['UUID']['input']>;
  status?: InputMaybe<WebhookDeliveryStatus>;
  first?: InputMaybe<Scalars['Int']['input']>;
  after?: InputMaybe<Scalars['String']['input']>;
}>;


export type WebhookDeliveriesQuery = { __typename?: 'Query', webhookDeliveries: { __typename?: 'WebhookDeliveryConnection', totalCount: number, pageInfo: { __typename?: 'PageInfo', hasNextPage: boolean, endCursor?: string | null }, nodes: Array<{ __typename?: 'WebhookDelivery', id: string, event: WebhookEvent, status: WebhookDeliveryStatus, attempts: number, lastStatusCode?: number | null, lastError?: string | null, createdAt: string, nextAttemptAt?: string | null, deliveredAt?: string | null, endpoint: { __typename?: 'WebhookEndpoint', id: string, url: string } }> } };

export type WebhookEndpointsQueryVariables = Exact<{ [key: string]: never; }>;


export type WebhookEndpointsQuery = { __typename?: 'Query', webhookEndpoints: Array<{ __typename?: 'WebhookEndpoint', id: string, url: string, events: Array<WebhookEvent>, active: boolean, disabledReason?: string | null, createdAt: string }> };


export const AcceptWaitlistOfferDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AcceptWaitlistOffer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"acceptWaitlistOffer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<AcceptWaitlistOfferMutation, AcceptWaitlistOfferMutationVariables>;
export const DeclineWaitlistOfferDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeclineWaitlistOffer"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"declineWaitlistOffer"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<DeclineWaitlistOfferMutation, DeclineWaitlistOfferMutationVariables>;
export const LeaveWaitlistDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"LeaveWaitlist"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"leaveWaitlist"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<LeaveWaitlistMutation, LeaveWaitlistMutationVariables>;
export const AppointmentEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"AppointmentEvents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"appointmentEvents"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"appointment"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<AppointmentEventsSubscription, AppointmentEventsSubscriptionVariables>;
export const AppointmentsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Appointments"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"appointments"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reasonForVisit"}},{"kind":"Field","name":{"kind":"Name","value":"doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"doctorProfile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"specialty"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"patient"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<AppointmentsQuery, AppointmentsQueryVariables>;
export const AvailableSlotsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AvailableSlots"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"from"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"to"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"visitTypeId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"availableSlots"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"doctorId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}}},{"kind":"Argument","name":{"kind":"Name","value":"from"},"value":{"kind":"Variable","name":{"kind":"Name","value":"from"}}},{"kind":"Argument","name":{"kind":"Name","value":"to"},"value":{"kind":"Variable","name":{"kind":"Name","value":"to"}}},{"kind":"Argument","name":{"kind":"Name","value":"visitTypeId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"visitTypeId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}}]}}]}}]} as unknown as DocumentNode<AvailableSlotsQuery, AvailableSlotsQueryVariables>;
export const CancelAppointmentSeriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelAppointmentSeries"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"fromOccurrence"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"reason"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelAppointmentSeries"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"fromOccurrence"},"value":{"kind":"Variable","name":{"kind":"Name","value":"fromOccurrence"}}},{"kind":"Argument","name":{"kind":"Name","value":"reason"},"value":{"kind":"Variable","name":{"kind":"Name","value":"reason"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"appointments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"occurrence"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<CancelAppointmentSeriesMutation, CancelAppointmentSeriesMutationVariables>;
export const CreateAppointmentDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAppointment"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAppointmentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAppointment"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"date"}},{"kind":"Field","name":{"kind":"Name","value":"time"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reasonForVisit"}},{"kind":"Field","name":{"kind":"Name","value":"lateCancellation"}},{"kind":"Field","name":{"kind":"Name","value":"visitType"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"durationMinutes"}}]}},{"kind":"Field","name":{"kind":"Name","value":"doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"patient"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}}]}}]}}]} as unknown as DocumentNode<CreateAppointmentMutation, CreateAppointmentMutationVariables>;
export const CreateAppointmentSeriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAppointmentSeries"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAppointmentInput"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"recurrence"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"RecurrenceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAppointmentSeries"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}},{"kind":"Argument","name":{"kind":"Name","value":"recurrence"},"value":{"kind":"Variable","name":{"kind":"Name","value":"recurrence"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"intervalWeeks"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"appointments"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"occurrence"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"date"}},{"kind":"Field","name":{"kind":"Name","value":"time"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<CreateAppointmentSeriesMutation, CreateAppointmentSeriesMutationVariables>;
export const CreateVisitTypeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateVisitType"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"VisitTypeInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createVisitType"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"doctorId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"durationMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"bufferBeforeMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"bufferAfterMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"patientBookable"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<CreateVisitTypeMutation, CreateVisitTypeMutationVariables>;
export const CreateWebhookEndpointDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateWebhookEndpoint"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"url"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"events"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookEvent"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createWebhookEndpoint"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"url"},"value":{"kind":"Variable","name":{"kind":"Name","value":"url"}}},{"kind":"Argument","name":{"kind":"Name","value":"events"},"value":{"kind":"Variable","name":{"kind":"Name","value":"events"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]}}]} as unknown as DocumentNode<CreateWebhookEndpointMutation, CreateWebhookEndpointMutationVariables>;
export const DoctorsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Doctors"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"search"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"doctors"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"search"},"value":{"kind":"Variable","name":{"kind":"Name","value":"search"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"doctorProfile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"specialty"}},{"kind":"Field","name":{"kind":"Name","value":"experienceYears"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"slotMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"availability"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"weekday"}},{"kind":"Field","name":{"kind":"Name","value":"startTime"}},{"kind":"Field","name":{"kind":"Name","value":"endTime"}}]}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<DoctorsQuery, DoctorsQueryVariables>;
export const HoldSlotDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"HoldSlot"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"startsAt"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"visitTypeId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"patientId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"holdSlot"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"doctorId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}}},{"kind":"Argument","name":{"kind":"Name","value":"startsAt"},"value":{"kind":"Variable","name":{"kind":"Name","value":"startsAt"}}},{"kind":"Argument","name":{"kind":"Name","value":"visitTypeId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"visitTypeId"}}},{"kind":"Argument","name":{"kind":"Name","value":"patientId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"patientId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"visitType"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"durationMinutes"}}]}},{"kind":"Field","name":{"kind":"Name","value":"doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"patient"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}}]}}]}}]} as unknown as DocumentNode<HoldSlotMutation, HoldSlotMutationVariables>;
export const ReleaseHoldDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReleaseHold"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"releaseHold"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<ReleaseHoldMutation, ReleaseHoldMutationVariables>;
export const MyHoldsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"MyHolds"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"myHolds"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}},{"kind":"Field","name":{"kind":"Name","value":"doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}}]}}]}}]} as unknown as DocumentNode<MyHoldsQuery, MyHoldsQueryVariables>;
export const JoinWaitlistDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"JoinWaitlist"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JoinWaitlistInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"joinWaitlist"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"earliest"}},{"kind":"Field","name":{"kind":"Name","value":"latest"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"replacesAppointment"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"startsAt"}}]}}]}}]}}]} as unknown as DocumentNode<JoinWaitlistMutation, JoinWaitlistMutationVariables>;
export const LoginDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Login"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"email"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"password"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"login"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"email"},"value":{"kind":"Variable","name":{"kind":"Name","value":"email"}}},{"kind":"Argument","name":{"kind":"Name","value":"password"},"value":{"kind":"Variable","name":{"kind":"Name","value":"password"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accessToken"}},{"kind":"Field","name":{"kind":"Name","value":"refreshToken"}},{"kind":"Field","name":{"kind":"Name","value":"tokenType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresIn"}},{"kind":"Field","name":{"kind":"Name","value":"user"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"role"}}]}}]}}]}}]} as unknown as DocumentNode<LoginMutation, LoginMutationVariables>;
export const MeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"email"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"dateJoined"}},{"kind":"Field","name":{"kind":"Name","value":"patientProfile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dateOfBirth"}}]}},{"kind":"Field","name":{"kind":"Name","value":"doctorProfile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"specialty"}},{"kind":"Field","name":{"kind":"Name","value":"timeZone"}},{"kind":"Field","name":{"kind":"Name","value":"slotMinutes"}}]}}]}}]}}]} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const SetAvailabilityDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"SetAvailability"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"rules"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"AvailabilityRuleInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"setAvailability"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"rules"},"value":{"kind":"Variable","name":{"kind":"Name","value":"rules"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"weekday"}},{"kind":"Field","name":{"kind":"Name","value":"startTime"}},{"kind":"Field","name":{"kind":"Name","value":"endTime"}}]}}]}}]} as unknown as DocumentNode<SetAvailabilityMutation, SetAvailabilityMutationVariables>;
export const UpdateRemindersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateReminders"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateMeInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateMe"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"phone"}},{"kind":"Field","name":{"kind":"Name","value":"emailReminders"}},{"kind":"Field","name":{"kind":"Name","value":"smsReminders"}}]}}]}}]} as unknown as DocumentNode<UpdateRemindersMutation, UpdateRemindersMutationVariables>;
export const VisitTypesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"VisitTypes"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"includeInactive"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"visitTypes"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"doctorId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}}},{"kind":"Argument","name":{"kind":"Name","value":"includeInactive"},"value":{"kind":"Variable","name":{"kind":"Name","value":"includeInactive"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"durationMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"bufferBeforeMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"bufferAfterMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"minNoticeMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"horizonDays"}},{"kind":"Field","name":{"kind":"Name","value":"patientCancelCutoffMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"patientRescheduleCutoffMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"patientBookable"}},{"kind":"Field","name":{"kind":"Name","value":"active"}}]}}]}}]} as unknown as DocumentNode<VisitTypesQuery, VisitTypesQueryVariables>;
export const WaitlistDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Waitlist"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"status"}},"type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"WaitlistStatus"}}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"waitlist"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"doctorId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"doctorId"}}},{"kind":"Argument","name":{"kind":"Name","value":"status"},"value":{"kind":"Variable","name":{"kind":"Name","value":"status"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"earliest"}},{"kind":"Field","name":{"kind":"Name","value":"latest"}},{"kind":"Field","name":{"kind":"Name","value":"doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"firstName"}},{"kind":"Field","name":{"kind":"Name","value":"lastName"}}]}},{"kind":"Field","name":{"kind":"Name","value":"visitType"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}},{"kind":"Field","name":{"kind":"Name","value":"offer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"startsAt"}},{"kind":"Field","name":{"kind":"Name","value":"endsAt"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<WaitlistQuery, WaitlistQueryVariables>;
export const WebhookDeliveriesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WebhookDeliveries"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UUID"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"status"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"WebhookDeliveryStatus"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookDeliveries"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"endpointId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"endpointId"}}},{"kind":"Argument","name":{"kind":"Name","value":"status"},"value":{"kind":"Variable","name":{"kind":"Name","value":"status"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"event"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"lastStatusCode"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"nextAttemptAt"}},{"kind":"Field","name":{"kind":"Name","value":"deliveredAt"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}}]}}]}}]}}]}}]} as unknown as DocumentNode<WebhookDeliveriesQuery, WebhookDeliveriesQueryVariables>;
export const WebhookEndpointsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"WebhookEndpoints"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"webhookEndpoints"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"events"}},{"kind":"Field","name":{"kind":"Name","value":"active"}},{"kind":"Field","name":{"kind":"Name","value":"disabledReason"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<WebhookEndpointsQuery, WebhookEndpointsQueryVariables>;