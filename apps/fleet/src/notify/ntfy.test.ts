// ntfy against a local HTTP receiver: POST <server>/<topic>, the text as body, Title / Priority / Tags headers
// as ntfy's publish docs define them (https://docs.ntfy.sh/publish/), and the access token.
import { afterEach, describe, expect, it } from "vitest";
import { alert } from "../__fixtures__/notify.js";
import { startReceiver, type Receiver } from "../__fixtures__/http-receiver.js";
import { alertMessage, digestMessage } from "./message.js";
import { NtfyChannel } from "./ntfy.js";

describe("ntfy channel", () => {
  let receiver: Receiver;
  afterEach(async () => {
    await receiver.close();
  });

  it("publishes to <server>/<topic> with title, priority, tags and token", async () => {
    receiver = await startReceiver();
    const ch = new NtfyChannel({ name: "tech-ntfy", server: `${receiver.url}/`, topic: "zapvend-tech", token: "tk_abc" });
    const a = alert({ kind: "temperature", severity: "warning", message: "m-1 is at 14.2 °C, outside 2..12 °C" });
    await expect(ch.send(alertMessage("n1", a, "raised", a.raisedAt))).resolves.toEqual({ status: "200" });
    await ch.send(alertMessage("n2", { ...a, clearedAt: a.raisedAt + 60_000 }, "resolved", a.raisedAt + 60_000));
    await ch.send(digestMessage("n3", [{ alert: alert({ severity: "critical" }), event: "raised" }, { alert: a, event: "raised" }], a.raisedAt));
    const [raised, resolved, digest] = receiver.requests;
    expect(raised).toMatchObject({ method: "POST", path: "/zapvend-tech" });
    expect(raised!.headers).toMatchObject({ title: "Warning: temperature on m-1", priority: "high", tags: "warning,temperature", authorization: "Bearer tk_abc" });
    expect(raised!.body).toContain("14.2 °C");
    expect(resolved!.headers).toMatchObject({ title: "Resolved: temperature on m-1", priority: "default", tags: "white_check_mark,temperature" });
    expect(digest!.headers).toMatchObject({ title: "Digest: 2 alerts", priority: "urgent", tags: "rotating_light,door-open,temperature" });
    expect(digest!.body.split("\n")).toHaveLength(2);
  });

  it("answers a refused publish with a coded, non-retryable error", async () => {
    receiver = await startReceiver([403]);
    const ch = new NtfyChannel({ name: "n", server: receiver.url, topic: "t" });
    await expect(ch.send(alertMessage("n1", alert(), "raised", 0))).rejects.toMatchObject({ code: "notify_delivery_refused", retryable: false, status: "403" });
  });
});
