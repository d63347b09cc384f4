// The e-mail channel: plain text over SMTP through nodemailer (maintained, STARTTLS, auth, pooling). The SMTP
// server's own answer is what the delivery log keeps; a 4xx answer or a lost connection is retried, a 5xx
// (a refused recipient, a refused login) is not.
import nodemailer from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport";
import { NotifyError, NotifyErrorCode, type NotifyChannel } from "./channel.js";
import type { NotifyMessage } from "./message.js";

/** The part of a nodemailer transporter this channel uses (injectable). */
export interface MailTransport {
  sendMail(mail: { from: string; to: string[]; subject: string; text: string; headers?: Record<string, string> }): Promise<{ response: string }>;
  close(): void;
}

export interface EmailOptions {
  name: string;
  smtp: { host: string; port: number; secure: boolean; user?: string | undefined; pass?: string | undefined };
  from: string;
  to: string[];
  /** Replaces the SMTP transport nodemailer builds from `smtp`. */
  transport?: MailTransport;
  /** Connection, greeting and socket timeouts. Default 10 s. */
  timeoutMs?: number;
}

export function smtpTransport(o: EmailOptions): MailTransport {
  const t = o.timeoutMs ?? 10_000;
  const opts: SMTPTransport.Options = {
    host: o.smtp.host,
    port: o.smtp.port,
    secure: o.smtp.secure,
    connectionTimeout: t,
    greetingTimeout: t,
    socketTimeout: t,
    ...(o.smtp.user !== undefined ? { auth: { user: o.smtp.user, pass: o.smtp.pass ?? "" } } : {}),
  };
  return nodemailer.createTransport(opts);
}

export class EmailChannel implements NotifyChannel {
  readonly type = "email" as const;
  readonly name: string;
  private readonly transport: MailTransport;

  constructor(private readonly o: EmailOptions) {
    this.name = o.name;
    this.transport = o.transport ?? smtpTransport(o);
  }

  async send(m: NotifyMessage): Promise<{ status: string }> {
    try {
      const info = await this.transport.sendMail({
        from: this.o.from,
        to: this.o.to,
        subject: `[zapvend] ${m.title}`,
        text: m.text,
        headers: { "X-Zapvend-Message": m.id, "X-Zapvend-Event": m.event },
      });
      return { status: info.response.slice(0, 200) };
    } catch (err) {
      const e = err as Error & { responseCode?: number; response?: string; code?: string };
      const permanent = typeof e.responseCode === "number" && e.responseCode >= 500;
      throw new NotifyError(
        permanent ? NotifyErrorCode.DELIVERY_REFUSED : NotifyErrorCode.DELIVERY_FAILED,
        `e-mail ${this.name} via ${this.o.smtp.host}:${this.o.smtp.port}: ${e.message}`,
        !permanent,
        e.response?.slice(0, 200) ?? e.code ?? null,
      );
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
