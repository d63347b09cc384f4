/**
 * @zapvend/fleet: the fleet server (ingest, store, alerts, reports, HTTP API and WebSocket) and, under
 * `src/console/`, the operator's console. `zapvend-fleet --config <file>` runs it (see README.md).
 */
export { FleetServer, openDatabase, type FleetServerOptions } from "./server.js";
export {
  DEFAULT_RETENTION,
  FleetService,
  type FleetServiceEvents,
  type FleetServiceOptions,
  type IngestStats,
  type RetentionSettings,
  type RetentionStats,
} from "./fleet-service.js";
export { instantOf, isOpenAt, openMsBetween } from "./opening-hours.js";
export { dayOf, hoursOf, lastDays, machineTimeZone, offsetSpans, operatorTimeZone, overviewPeriods, type OffsetSpan, type Span, type TimeZoneSource } from "./periods.js";
export { fleetOverview, OVERVIEW_DAYS } from "./overview.js";
export { OverviewStore } from "./store/overview-store.js";
export { FleetHttpServer, type FleetHttpOptions } from "./http-server.js";
export { FleetStore, type ApplyOutcome, type SalesFilter } from "./store/fleet-store.js";
export { PicklistStore, PicklistErrorCode, byNeed, totalsOf, type PickListQuery } from "./picklist/picklist-store.js";
export { SLOT_SALES_BACKFILL } from "./picklist/sales-ring.js";
export { SqliteDb, PostgresDb, type SqlDb } from "./store/db.js";
export { migrate, LATEST_SCHEMA_VERSION } from "./store/migrations.js";
export type { FleetLink } from "./link.js";
export { OperatorSigner } from "./signer.js";
export { AlertEngine, conditionsFor, DEFAULT_ALERT_SETTINGS, openingHoursFor, type AlertSettings } from "./alerts.js";
export { dexReadOut, dexReport, salesCsv, reconciliationCsv, crc16, msatToSats } from "./reports.js";
export { FleetError, FleetErrorCode } from "./errors.js";
export { systemClock, type Clock, type Logger } from "./clock.js";
export { AuthService, AuthErrorCode, actorOf, type Principal } from "./auth/auth-service.js";
export { AuthStore, type AuditFilter, type AuditInput } from "./auth/auth-store.js";
export { hashPassword, verifyPassword, PASSWORD_COST } from "./auth/passwords.js";
export { GuardErrorCode, guardSettings, SESSION_COOKIE } from "./http-guard.js";
export type { Access, RouteInfo } from "./http-routes.js";
export { Notifier, type NotifierOptions, type AlertSource } from "./notify/notifier.js";
export { DeliveryLog, NotifyEvent, type DeliveryAttempt, type DeliveryQuery } from "./notify/delivery-log.js";
export { NotifyError, NotifyErrorCode, type HttpPost, type NotifyChannel } from "./notify/channel.js";
export { signWebhook, verifyWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./notify/webhook.js";
