// A small typed client: fetch for queries and mutations, graphql-ws for the subscription.
// Every operation's result and variables types come from src/gql/ (generated: `npm run generate`).
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client as SocketClient } from 'graphql-ws';

import {
  AppointmentEventsDocument,
  AppointmentsDocument,
  AvailableSlotsDocument,
  CreateAppointmentDocument,
  DoctorsDocument,
  HoldSlotDocument,
  LoginDocument,
  MeDocument,
  MyHoldsDocument,
  ReleaseHoldDocument,
  SetAvailabilityDocument,
  type AppointmentEventsSubscription,
  type AppointmentsQuery,
  type AvailabilityRuleInput,
  type AvailableSlotsQuery,
  type CreateAppointmentInput,
  type CreateAppointmentMutation,
  type DoctorsQuery,
  type HoldSlotMutation,
  type LoginMutation,
  type MeQuery,
  type MyHoldsQuery,
  type SetAvailabilityMutation,
} from './gql/graphql';

export * from './gql/graphql';

/** One entry of a response's `errors`. */
export interface ErrorEntry {
  readonly message: string;
  readonly extensions?: { readonly [key: string]: unknown } | undefined;
}

/** A GraphQL error answer: `code` is `extensions.code` (UNAUTHENTICATED, CONFLICT, …). */
export class CyberMedError extends Error {
  readonly code: string | undefined;
  readonly field: string | undefined;
  readonly errors: readonly ErrorEntry[];

  constructor(errors: readonly ErrorEntry[]) {
    const first = errors[0];
    super(first?.message ?? 'GraphQL error');
    this.name = 'CyberMedError';
    this.errors = errors;
    const code = first?.extensions?.['code'];
    const field = first?.extensions?.['field'];
    this.code = typeof code === 'string' ? code : undefined;
    this.field = typeof field === 'string' ? field : undefined;
  }
}

export interface ClientOptions {
  /** The HTTP endpoint, e.g. `http://127.0.0.1:8000/graphql`. */
  url: string;
  /** An access token from `login`, sent as `Authorization: Bearer …`. */
  token?: string;
  /** A WebSocket implementation where there is no global one (e.g. the `ws` package on Node 20). */
  webSocketImpl?: unknown;
}

/** Variables are optional for operations that take none, and required otherwise. */
type VariablesArg<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];

interface Answer<T> {
  data?: T | null;
  errors?: readonly ErrorEntry[];
}

export class CyberMedClient {
  constructor(private readonly options: ClientOptions) {}

  /** The same client, signed in with `token`. */
  withToken(token: string): CyberMedClient {
    return new CyberMedClient({ ...this.options, token });
  }

  /** Runs a query or mutation; throws `CyberMedError` when the answer has errors. */
  async request<T, V extends Record<string, unknown>>(
    document: TypedDocumentNode<T, V>,
    ...[variables]: VariablesArg<V>
  ): Promise<T> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
    };
    if (this.options.token !== undefined) {
      headers['Authorization'] = `Bearer ${this.options.token}`;
    }
    const response = await fetch(this.options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const answer = (await response.json()) as Answer<T>;
    if (answer.errors !== undefined && answer.errors.length > 0) {
      throw new CyberMedError(answer.errors);
    }
    if (answer.data === undefined || answer.data === null) {
      throw new CyberMedError([{ message: `HTTP ${response.status} without data` }]);
    }
    return answer.data;
  }

  login(email: string, password: string): Promise<LoginMutation['login']> {
    return this.request(LoginDocument, { email, password }).then((d) => d.login);
  }

  me(): Promise<MeQuery['me']> {
    return this.request(MeDocument).then((d) => d.me);
  }

  doctors(first = 20, after?: string, search?: string): Promise<DoctorsQuery['doctors']> {
    return this.request(DoctorsDocument, { first, after: after ?? null, search: search ?? null }).then(
      (d) => d.doctors,
    );
  }

  setAvailability(rules: AvailabilityRuleInput[]): Promise<SetAvailabilityMutation['setAvailability']> {
    return this.request(SetAvailabilityDocument, { rules }).then((d) => d.setAvailability);
  }

  availableSlots(doctorId: string, from: string, to: string): Promise<AvailableSlotsQuery['availableSlots']> {
    return this.request(AvailableSlotsDocument, { doctorId, from, to }).then((d) => d.availableSlots);
  }

  createAppointment(input: CreateAppointmentInput): Promise<CreateAppointmentMutation['createAppointment']> {
    return this.request(CreateAppointmentDocument, { input }).then((d) => d.createAppointment);
  }

  /**
   * Keeps a free time for a few minutes (a patient for themself; a doctor or admin names the
   * patient). Book it with `createAppointment({ holdId, startsAt, reasonForVisit })`.
   */
  holdSlot(
    doctorId: string,
    startsAt: string,
    options: { visitTypeId?: string; patientId?: string } = {},
  ): Promise<HoldSlotMutation['holdSlot']> {
    const { visitTypeId = null, patientId = null } = options;
    return this.request(HoldSlotDocument, { doctorId, startsAt, visitTypeId, patientId }).then((d) => d.holdSlot);
  }

  /** Gives a live hold's time back at once: `false` when it was no longer live. */
  releaseHold(id: string): Promise<boolean> {
    return this.request(ReleaseHoldDocument, { id }).then((d) => d.releaseHold);
  }

  myHolds(): Promise<MyHoldsQuery['myHolds']> {
    return this.request(MyHoldsDocument).then((d) => d.myHolds);
  }

  appointments(first = 20, after?: string): Promise<AppointmentsQuery['appointments']> {
    return this.request(AppointmentsDocument, { first, after: after ?? null }).then((d) => d.appointments);
  }

  /**
   * Listens to `appointmentEvents` over `/graphql/ws` (graphql-transport-ws), signed in with the
   * token in `connection_init`. Returns a function that stops listening and closes the socket.
   */
  appointmentEvents(
    onEvent: (event: AppointmentEventsSubscription['appointmentEvents']) => void,
    onError: (error: unknown) => void = () => {},
  ): () => void {
    const token = this.options.token;
    const socket: SocketClient = createClient({
      url: this.options.url.replace(/^http/, 'ws').replace(/\/?$/, '/ws'),
      connectionParams: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      ...(this.options.webSocketImpl === undefined ? {} : { webSocketImpl: this.options.webSocketImpl }),
    });
    const stop = socket.subscribe<AppointmentEventsSubscription>(
      { query: print(AppointmentEventsDocument) },
      {
        next: (answer) => {
          if (answer.errors !== undefined && answer.errors.length > 0) {
            onError(new CyberMedError(answer.errors));
          } else if (answer.data) {
            onEvent(answer.data.appointmentEvents);
          }
        },
        error: onError,
        complete: () => {},
      },
    );
    return () => {
      stop();
      void socket.dispose();
    };
  }
}
