// The generated client against a real server, as a front-end would use it (run by .ci/run):
//
//   CYBERMED_URL=http://127.0.0.1:8000/graphql CYBERMED_LOGINS=logins.txt npm run smoke
//
// CYBERMED_LOGINS is what `cybermed seed-demo` printed (`<ROLE> <email> <password>` lines). A
// patient signs in, reads `me` and the doctor directory, listens to `appointmentEvents`, books the
// first free slot of a doctor, sees the booking's CREATED event arrive and the booking on the
// appointments page, gets CONFLICT for the same slot again, and holds a free time, sees it in
// `myHolds` and releases it. Exits 1 on any difference.
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

import { CyberMedClient, CyberMedError, type HoldSlotMutation } from './client';

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`smoke: ${what}`);
  }
}

async function main(): Promise<void> {
  const url = process.env['CYBERMED_URL'] ?? 'http://127.0.0.1:8000/graphql';
  const logins = readFileSync(process.env['CYBERMED_LOGINS'] ?? 'logins.txt', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((parts) => parts.length === 3);
  const patient = logins.find(([role]) => role === 'PATIENT');
  check(patient !== undefined, 'seed-demo printed a PATIENT login');
  const [, email, password] = patient as [string, string, string];

  const anonymous = new CyberMedClient({ url, webSocketImpl: WebSocket });
  const auth = await anonymous.login(email, password);
  const client = anonymous.withToken(auth.accessToken);

  const me = await client.me();
  check(me !== null && me !== undefined && me.email === email && me.role === 'PATIENT', `me is ${email}`);

  const doctors = await client.doctors(20);
  const doctor = doctors.edges.find((e) => (e.node.doctorProfile?.availability.length ?? 0) > 0)?.node;
  check(doctor !== undefined, 'the directory lists a doctor with availability');

  const from = new Date();
  const to = new Date(from.getTime() + 14 * 86_400_000);
  const slots = await client.availableSlots(doctor.id, from.toISOString(), to.toISOString());
  const slot = slots[0];
  check(slot !== undefined && slots[1] !== undefined, `${doctor.lastName} has free slots in the next 14 days`);

  // Listen, then book. A subscription is live only once the server has taken the `subscribe`
  // message, some time after the socket's ack: if the first booking's CREATED event does not
  // arrive within 3 s, book the next slot and wait for that one's (10 s).
  const seen = new Set<string>();
  let failed: unknown;
  const stop = client.appointmentEvents(
    (event) => {
      if (event.kind === 'CREATED') {
        seen.add(event.appointment.id);
      }
    },
    (error) => {
      failed = error;
    },
  );
  const arrives = async (id: string, ms: number): Promise<boolean> => {
    for (let waited = 0; waited < ms && !seen.has(id) && failed === undefined; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return seen.has(id);
  };
  let booked;
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    booked = await client.createAppointment({
      doctorId: doctor.id,
      startsAt: slot.startsAt,
      reasonForVisit: 'Smoke test',
    });
    check(booked.status === 'PENDING', `a patient's booking is PENDING (got ${booked.status})`);
    check(booked.startsAt === slot.startsAt, 'booked at the slot asked for');
    if (!(await arrives(booked.id, 3_000))) {
      const next = slots[1];
      const again = await client.createAppointment({
        doctorId: doctor.id,
        startsAt: next.startsAt,
        reasonForVisit: 'Smoke test',
      });
      check(await arrives(again.id, 10_000), `a CREATED event arrives (${String(failed ?? 'none within 10 s')})`);
    }
  } finally {
    stop();
  }

  // Page through the list (20 at a time, as a list screen does) until the booking shows.
  let after: string | undefined;
  let listed = false;
  for (let pages = 0; pages < 20 && !listed; pages++) {
    const page = await client.appointments(20, after);
    listed = page.edges.some((e) => e.node.id === booked.id);
    if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor == null) {
      break;
    }
    after = page.pageInfo.endCursor;
  }
  check(listed, 'the appointments pages list the booking');

  try {
    await client.createAppointment({ doctorId: doctor.id, startsAt: slot.startsAt, reasonForVisit: 'Twice' });
    check(false, 'booking the same slot twice is refused');
  } catch (e) {
    check(e instanceof CyberMedError && e.code === 'CONFLICT', `a second booking is CONFLICT (got ${String(e)})`);
  }

  // Hold a free time from the last one back (the demo patient may have a visit elsewhere at one,
  // a CONFLICT): listed in myHolds until released.
  let hold: HoldSlotMutation['holdSlot'] | undefined;
  for (const free of slots.slice(-10).reverse()) {
    try {
      hold = await client.holdSlot(doctor.id, free.startsAt);
      check(hold.startsAt === free.startsAt && hold.doctor.id === doctor.id, 'the hold keeps the time asked for');
      break;
    } catch (e) {
      check(e instanceof CyberMedError && e.code === 'CONFLICT', `a hold is made or CONFLICT (got ${String(e)})`);
    }
  }
  check(hold !== undefined, 'one of the last 10 free times can be held');
  check((await client.myHolds()).some((h) => h.id === hold.id), 'myHolds lists the hold');
  check(await client.releaseHold(hold.id), 'a live hold is released');
  check(!(await client.myHolds()).some((h) => h.id === hold.id), 'a released hold is no longer listed');

  console.log(
    `smoke: ok (${email} booked ${doctor.firstName} ${doctor.lastName} at ${slot.startsAt}; event, page, CONFLICT and a hold seen)`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
