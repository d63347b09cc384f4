// Checks of the catalog's answers (protocol's fleet-catalog-api shapes), written like ./check.ts so that no zod is
// bundled: used by the catalog editor (catalog-view.ts) and the machine page's slot products (machine-view.ts).
import type { CatalogResponse, FleetProduct, PictureRef, ProductNames, SlotAssignment } from "@zapvend/protocol";
import { arr, int, nullable, obj, oneOf, opt, price, str } from "./check.js";

export const pictureRef = obj<PictureRef>({ sha256: str, type: oneOf("image/webp", "image/avif"), bytes: int, width: int, height: int });
const names = obj<ProductNames>({ en: str, fr: opt(str), ja: opt(str), zh: opt(str) });
export const product = obj<FleetProduct>({ id: str, names, icon: nullable(str), picture: nullable(pictureRef), price, updatedAt: int });
export const assignment = obj<SlotAssignment>({ machineId: str, slot: str, product: str, price: nullable(price), updatedAt: int });
/** `GET /api/catalog` and `GET /api/catalog/machines/:id`. */
export const catalogAnswer = obj<CatalogResponse>({ products: arr(product), assignments: arr(assignment) });
