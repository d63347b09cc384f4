// E-mail against a real SMTP server on loopback (smtp-server, by the nodemailer authors): the message arrives with
// its envelope, subject and text; a temporary 4xx is retried, a permanent 5xx is not.
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream } from "smtp-server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alert, instantClock } from "../__fixtures__/notify.js";
import { engines } from "../__fixtures__/stores.js";
import { silentLogger } from "../clock.js";
import type { FleetStore } from "../store/fleet-store.js";
import { DeliveryLog } from "./delivery-log.js";
import { Dispatcher } from "./dispatcher.js";
import { EmailChannel } from "./email.js";
import { alertMessage } from "./message.js";

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

async function startSmtp(opts: { failFirstData?: boolean; refuseRcpt?: string } = {}): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  let dataCalls = 0;
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no certificate to make; nodemailer then sends without STARTTLS.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, cb) {
      if (address.address === opts.refuseRcpt) {
        const err = Object.assign(new Error("no such mailbox"), { responseCode: 550 });
        cb(err);
        return;
      }
      cb();
    },
    onData(stream: SMTPServerDataStream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        dataCalls++;
        if (opts.failFirstData && dataCalls === 1) {
          cb(Object.assign(new Error("mailbox busy, try later"), { responseCode: 451 }));
          return;
        }
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "", to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
        cb(null);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const NOW = Date.UTC(2026, 11, 7, 22, 0, 5);

describe("e-mail channel over a real SMTP server", () => {
  let store: FleetStore;
  let cleanup: () => Promise<void>;
  let smtp: Awaited<ReturnType<typeof startSmtp>> | undefined;
  let channel: EmailChannel | undefined;
  beforeEach(async () => {
    ({ store, cleanup } = await engines[0]!.open());
  });
  afterEach(async () => {
    await channel?.close();
    await smtp?.close();
    await cleanup();
  });

  const open = (port: number, to = ["tech@example.com", "lead@example.com"]) =>
    (channel = new EmailChannel({ name: "tech-mail", smtp: { host: "127.0.0.1", port, secure: false }, from: "fleet@example.com", to, timeoutMs: 5_000 }));

  it("delivers the alert: envelope, subject, text, and the server's answer in the log", async () => {
    smtp = await startSmtp();
    const log = new DeliveryLog(store.db);
    const d = new Dispatcher(log, instantClock(NOW), { maxAttempts: 3, baseMs: 1_000 }, silentLogger);
    const [out] = await d.deliver(alertMessage("e1", alert(), "raised", NOW), [open(smtp.port)]);
    expect(out).toMatchObject({ ok: true, attempts: 1 });
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.from).toBe("fleet@example.com");
    expect(mail.to).toEqual(["tech@example.com", "lead@example.com"]);
    expect(mail.raw).toMatch(/^Subject: \[zapvend\] CRITICAL: door-open on m-1$/m);
    expect(mail.raw).toMatch(/^X-Zapvend-Event: raised$/m);
    expect(mail.raw).toContain("the door of m-1 is open outside service");
    const [row] = await log.list();
    expect(row).toMatchObject({ channel: "tech-mail", channelType: "email", ok: true, attempt: 1 });
    expect(row!.status).toMatch(/^250/);
  });

  it("retries a temporary 451 and does not retry a refused recipient (550)", async () => {
    smtp = await startSmtp({ failFirstData: true, refuseRcpt: "nobody@example.com" });
    const log = new DeliveryLog(store.db);
    const clock = instantClock(NOW);
    const d = new Dispatcher(log, clock, { maxAttempts: 3, baseMs: 1_000 }, silentLogger);
    const [busy] = await d.deliver(alertMessage("e1", alert(), "raised", NOW), [open(smtp.port)]);
    expect(busy).toMatchObject({ ok: true, attempts: 2 });
    expect(clock.delays).toEqual([1_000]);
    expect(smtp.mails).toHaveLength(1);
    await channel!.close();
    const [refused] = await d.deliver(alertMessage("e2", alert({ id: "a-2" }), "raised", NOW), [open(smtp.port, ["nobody@example.com"])]);
    expect(refused).toMatchObject({ ok: false, attempts: 1 });
    const rows = await log.list();
    expect(rows.map((r) => [r.dedupeKey, r.attempt, r.ok])).toEqual([
      ["a-2:raised", 1, false],
      ["a-1:raised", 2, true],
      ["a-1:raised", 1, false],
    ]);
    expect(rows[0]!.status).toMatch(/^550/);
    expect(rows[2]!.status).toMatch(/^451/);
  });
});
