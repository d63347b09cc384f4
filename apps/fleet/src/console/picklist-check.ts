// Checks of the pick list's answers (protocol's fleet-picklist shapes), written like ./check.ts so that no zod is
// bundled: the numbers the page shows and adds up must be numbers.
import type { IssuedPickLine, IssuedPickList, IssuedPickListSummary, PickLine, PickList, PickListPage, PickMachine, PickRestock, PickTotal, SlotPar } from "@zapvend/protocol";
import { arr, bool, CheckError, int, nullable, num, obj, oneOf, opt, str, type Check } from "./check.js";

const kind = oneOf("pour", "spiral", "mdb");
const status = oneOf("online", "offline", "lost", "service", "unknown");
/** Shrinkage and a net load may be negative. */
const signed: Check<number> = (v, p) => {
  if (Number.isSafeInteger(v)) return v as number;
  throw new CheckError(p, "expected a whole number");
};

const pickLine = obj<PickLine>({ slot: str, name: str, kind, capacity: int, par: int, parSet: bool, stock: int, toLoad: int, sold: int, perDay: num, daysLeft: nullable(num) });
const pickTotal = obj<PickTotal>({ name: str, kind, toLoad: int, machines: int });
const pickMachine = obj<PickMachine>({ machineId: str, status, emptySlots: int, daysLeft: nullable(num), toLoad: int, lines: arr(pickLine) });
export const pickList = obj<PickList>({ generatedAt: int, windowDays: int, windowFrom: opt(int), machines: arr(pickMachine), totals: arr(pickTotal), toLoad: int });
export const pickListPage = obj<PickListPage>({
  generatedAt: int,
  windowDays: int,
  windowFrom: opt(int),
  machines: arr(pickMachine),
  totals: arr(pickTotal),
  toLoad: int,
  page: obj<PickListPage["page"]>({ offset: int, limit: int, machines: int, withLoad: int }),
});

const restock = obj<PickRestock>({ at: int, previous: int, counted: int, loaded: signed, expected: int, shrinkage: signed });
const issuedLine = obj<IssuedPickLine>({ slot: str, name: str, kind, capacity: int, par: int, parSet: bool, stock: int, toLoad: int, daysLeft: nullable(num), restock: nullable(restock) });
const issuedMachine = obj<IssuedPickList["machines"][number]>({ machineId: str, status, emptySlots: int, daysLeft: nullable(num), toLoad: int, lines: arr(issuedLine) });
export const issuedPickList = obj<IssuedPickList>({
  id: str,
  issuedAt: int,
  issuedBy: str,
  windowDays: int,
  machines: arr(issuedMachine),
  totals: arr(pickTotal),
  toLoad: int,
  restocked: int,
  shrinkage: signed,
});
export const issuedSummary = obj<IssuedPickListSummary>({ id: str, issuedAt: int, issuedBy: str, windowDays: int, machineIds: arr(str), toLoad: int, restocked: int, shrinkage: signed });
export const slotPar = obj<SlotPar>({ slot: str, name: str, capacity: int, par: int, parSet: bool });
