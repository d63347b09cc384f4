// The pick list (issue #18): what a technician loads in the van for a route of machines, the par level of each slot
// it brings the slots back to, and the shrinkage found when the technician's restock on the kiosk's service menu is
// matched against the pick list issued for that machine. The fleet answers with these shapes; the console checks them.
import { z } from "zod";
import { EpochMs, Id, MachineId, SlotId, text } from "./common.js";
import { ProductKindSchema } from "./catalog.js";
import { parseJson, parseValue, type ParseResult } from "./result.js";

/** Days of sales the rate ("days of stock left") is computed over, when the query does not say. */
export const PICKLIST_DEFAULT_WINDOW_DAYS = 7;
/** At most this many machines named in one `machines=` group. */
export const PICKLIST_MAX_GROUP = 10_000;

/** One slot of a machine on the pick list. */
export const PickLine = z.object({
  slot: SlotId,
  name: text(60),
  kind: ProductKindSchema,
  capacity: z.int().min(1),
  /** The level the technician fills the slot to: the operator's par, else the capacity. */
  par: z.int().min(0),
  /** True when an operator set this par (false: it is the capacity). */
  parSet: z.boolean(),
  /** The stock the fleet last heard of (birth, telemetry, sales, restocks). */
  stock: z.int().min(0),
  /** max(0, par - stock). */
  toLoad: z.int().min(0),
  /** Sales of this slot within the window (from `windowFrom` of the pick list). */
  sold: z.int().min(0),
  /** Sales per day over the window: sold / its days (`windowDays` whole days and today so far). */
  perDay: z.number().min(0),
  /** stock / perDay, one decimal; null when nothing sold in the window (no rate to run out at). */
  daysLeft: z.number().min(0).nullable(),
});
export type PickLine = z.infer<typeof PickLine>;

/** One machine of the pick list with its enabled slots. */
export const PickMachine = z.object({
  machineId: MachineId,
  status: z.enum(["online", "offline", "lost", "service", "unknown"]),
  /** Enabled slots with no stock. */
  emptySlots: z.int().min(0),
  /** The lowest `daysLeft` of its slots (null: none sold in the window). */
  daysLeft: z.number().min(0).nullable(),
  /** Units to load in this machine. */
  toLoad: z.int().min(0),
  lines: z.array(PickLine),
});
export type PickMachine = z.infer<typeof PickMachine>;

/** What the van carries of one product (same name and kind) across the machines of the list. */
export const PickTotal = z.object({
  name: text(60),
  kind: ProductKindSchema,
  toLoad: z.int().min(0),
  /** Machines that need some of it. */
  machines: z.int().min(0),
});
export type PickTotal = z.infer<typeof PickTotal>;

/**
 * `GET /api/picklist?machines=&window=`: machines ordered by need (most empty slots first, then fewest days of
 * stock left, machines with no sales in the window last, then by id), and the van's totals by product.
 */
export const PickList = z.object({
  generatedAt: EpochMs,
  windowDays: z.int().min(1).max(90),
  /**
   * Where the rate's window starts: midnight UTC `windowDays` days before today. The window is those whole days and
   * today so far (the fleet keeps each slot's sales per UTC day). Absent from fleets before it was added.
   */
  windowFrom: EpochMs.optional(),
  machines: z.array(PickMachine),
  totals: z.array(PickTotal),
  toLoad: z.int().min(0),
});
export type PickList = z.infer<typeof PickList>;

/** At most this many machines' lines on one page of `GET /api/picklist?limit=`. */
export const PICKLIST_MAX_PAGE = 500;

/**
 * `GET /api/picklist?limit=&offset=`: one page of the pick list. `machines` are the page's machines (with their
 * lines), in the order of need of the whole list; `totals` and `toLoad` are the whole list's (every machine of the
 * group); `page.machines` is how many machines the whole list has.
 */
export const PickListPage = PickList.extend({
  page: z.object({
    offset: z.int().min(0),
    limit: z.int().min(1).max(PICKLIST_MAX_PAGE),
    /** Machines on the whole list. */
    machines: z.int().min(0),
    /** Machines on the whole list with something to load. */
    withLoad: z.int().min(0),
  }),
});
export type PickListPage = z.infer<typeof PickListPage>;

/**
 * The technician's restock of one slot after the pick list was issued, and what it says. `expected` is the machine's
 * own count just before the restock (`previous` of the `event/restock`) plus the units the pick list said to load;
 * `counted` is the stock the technician entered on the service menu; `shrinkage = expected - counted`: units that
 * should be in the slot and are not (taken from the van but not loaded, or missing from the slot before the visit:
 * theft, damage, a miscount). Negative: more in the slot than planned. `loaded = counted - previous`.
 */
export const PickRestock = z.object({
  at: EpochMs,
  previous: z.int().min(0),
  counted: z.int().min(0),
  loaded: z.int(),
  expected: z.int().min(0),
  shrinkage: z.int(),
});
export type PickRestock = z.infer<typeof PickRestock>;

export const IssuedPickLine = PickLine.omit({ sold: true, perDay: true }).extend({ restock: PickRestock.nullable() });
export type IssuedPickLine = z.infer<typeof IssuedPickLine>;

/** A pick list as issued (saved with its lines when printed or exported), with the restocks matched since. */
export const IssuedPickList = z.object({
  id: Id,
  issuedAt: EpochMs,
  issuedBy: text(80),
  windowDays: z.int().min(1).max(90),
  machines: z.array(PickMachine.omit({ lines: true }).extend({ lines: z.array(IssuedPickLine) })),
  totals: z.array(PickTotal),
  toLoad: z.int().min(0),
  /** Slots to load that have a restock matched / all slots to load. */
  restocked: z.int().min(0),
  /** Sum of the matched lines' shrinkage. */
  shrinkage: z.int(),
});
export type IssuedPickList = z.infer<typeof IssuedPickList>;

/** `GET /api/picklists`: the issued pick lists, newest first, without their lines. */
export const IssuedPickListSummary = IssuedPickList.omit({ machines: true, totals: true }).extend({ machineIds: z.array(MachineId) });
export type IssuedPickListSummary = z.infer<typeof IssuedPickListSummary>;

/** `POST /api/picklists` body: issue (save) the pick list of these machines (absent: all) with this window. */
export const IssuePickListRequest = z.strictObject({
  machines: z.array(MachineId).min(1).max(PICKLIST_MAX_GROUP).optional(),
  windowDays: z.int().min(1).max(90).optional(),
});
export type IssuePickListRequest = z.infer<typeof IssuePickListRequest>;

/** `PUT /api/machines/:id/pars` body: a par per slot; null goes back to the slot's capacity. */
export const ParsEdit = z.strictObject({ pars: z.record(SlotId, z.int().min(0).max(10_000).nullable()) });
export type ParsEdit = z.infer<typeof ParsEdit>;

/** `PUT /api/machines/:id/pars` answer and `GET /api/machines/:id/pars`: every slot's par as the pick list uses it. */
export const SlotPar = z.object({ slot: SlotId, name: text(60), capacity: z.int().min(1), par: z.int().min(0), parSet: z.boolean() });
export type SlotPar = z.infer<typeof SlotPar>;

export function parseParsEdit(body: unknown): ParseResult<ParsEdit> {
  if (typeof body === "string" || body instanceof Uint8Array) return parseJson(ParsEdit, body, { maxBytes: 16 * 1024 });
  return parseValue(ParsEdit, body);
}

export function parseIssuePickListRequest(body: unknown): ParseResult<IssuePickListRequest> {
  if (typeof body === "string" || body instanceof Uint8Array) return parseJson(IssuePickListRequest, body, { maxBytes: 256 * 1024 });
  return parseValue(IssuePickListRequest, body);
}
