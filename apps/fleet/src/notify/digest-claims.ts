// At most once across several fleet servers (issue #18): each server holds its own waiting digest in memory, and a
// restarted one puts back what no channel was told about, possibly an alert another server still holds. Before an
// alert goes into a digest, the sending server claims (alert event, channel) in `notification_claims` (migration 8):
// the first claim wins. A claim whose delivery failed is released (a later recovery may try again); one older than
// an hour whose message never went (its server died while sending) may be taken over.
import { silentLogger, type Logger } from "../clock.js";
import type { SqlDb } from "../store/db.js";

/** A claim older than this may be taken by another server. */
export const CLAIM_STALE_MS = 3_600_000;
/** Claims only matter while a digest is being sent; older ones are deleted. */
export const CLAIM_KEEP_MS = 86_400_000;

export class DigestClaims {
  constructor(
    private readonly db: SqlDb,
    /** This server's name on its claims. */
    readonly serverId: string,
    private readonly log: Logger = silentLogger,
  ) {}

  /** True when this server may send `item` (`<alert id>:<event>`) to `channel` in a digest. */
  async claim(item: string, channel: string, nowMs: number): Promise<boolean> {
    try {
      const r = await this.db.run(
        `INSERT INTO notification_claims (item, channel, server, claimed_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (item, channel) DO UPDATE SET server = excluded.server, claimed_at = excluded.claimed_at WHERE notification_claims.claimed_at < ?`,
        [item, channel, this.serverId, nowMs, nowMs - CLAIM_STALE_MS],
      );
      return r.changes === 1;
    } catch (err) {
      // Without the claim the alert could go twice; holding it back keeps "at most once". Logged, not sent.
      this.log("fleet:notify", `digest claim failed, ${item} not sent to ${channel}: ${(err as Error).message}`, { level: "error" });
      return false;
    }
  }

  async release(item: string, channel: string): Promise<void> {
    await this.db.run("DELETE FROM notification_claims WHERE item = ? AND channel = ? AND server = ?", [item, channel, this.serverId]).catch(() => {});
  }

  async prune(nowMs: number): Promise<void> {
    await this.db.run("DELETE FROM notification_claims WHERE claimed_at < ?", [nowMs - CLAIM_KEEP_MS]).catch((err: unknown) => this.log("fleet:notify", `old digest claims not deleted: ${(err as Error).message}`, { level: "warn" }));
  }

  /** The ids among these of alerts that are cleared in the store (by this server or another). */
  async clearedAmong(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    try {
      const rows = await this.db.all(`SELECT id FROM alerts WHERE cleared_at IS NOT NULL AND id IN (${ids.map(() => "?").join(", ")})`, [...ids]);
      return new Set(rows.map((r) => String(r.id)));
    } catch (err) {
      this.log("fleet:notify", `could not check which waiting alerts cleared: ${(err as Error).message}`, { level: "warn" });
      return new Set();
    }
  }
}
