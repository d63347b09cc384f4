// The catalog's HTTP routes (issue #18): everyone with a role reads the catalog and its pictures; operators edit.
// Every edit is audited, and every machine whose desired state it changed gets a `desired.edit` audit entry too, so
// the machine's desired-state history stays complete. Pictures are uploaded as JSON (`{dataBase64}`), which keeps
// the CSRF guard's rule (mutating requests are `application/json`, which a cross-site form cannot send) intact.
import type http from "node:http";
import {
  MAX_PICTURE_UPLOAD_BYTES,
  MachineId,
  PictureUploadJson,
  ProductId,
  ProductUpsertRequest,
  SlotAssignmentRequest,
  SlotId,
  parseJson,
} from "@zapvend/protocol";
import type { z } from "zod";
import type { AuthService } from "../auth/auth-service.js";
import { FleetError } from "../errors.js";
import { by } from "../http-auth-routes.js";
import type { RouteContext, RouteRegistrar } from "../http-routes.js";
import { desiredDiff } from "../http-server.js";
import { CatalogErrorCode, type CatalogService, type MachineSync } from "./catalog-service.js";
import { PictureErrorCode } from "./pictures.js";

/** The largest JSON upload body: the base64 of MAX_PICTURE_UPLOAD_BYTES plus the envelope. */
const MAX_UPLOAD_BODY = Math.ceil(MAX_PICTURE_UPLOAD_BYTES / 3) * 4 + 1024;
const JSON_BODY = 16 * 1024;

export function defineCatalogRoutes(router: RouteRegistrar, catalog: CatalogService, auth: AuthService): void {
  const audited = async (ctx: RouteContext, machines: MachineSync[], cause: Record<string, unknown>) => {
    for (const m of machines) {
      if (!m.after) continue;
      await auth.audit({ ...by(ctx), action: "desired.edit", target: m.machineId, detail: { version: m.after.version, catalog: cause, diff: desiredDiff(m.before, m.after) } });
    }
  };
  const syncView = (machines: MachineSync[]) =>
    machines.map((m) => ({ machineId: m.machineId, version: m.after?.version ?? m.before?.version ?? null, sent: m.after !== null, ...(m.error ? { error: m.error } : {}) }));

  router.route("GET", "/api/catalog", "viewer", async () => ({ status: 200, body: await catalog.catalog() }));

  // One machine's slots and the products they show (the machine page), not the whole fleet's catalog.
  router.route("GET", "/api/catalog/machines/:id", "viewer", async (ctx) => ({
    status: 200,
    body: await catalog.machineCatalog(parseParam(MachineId, ctx.params[0], "not a machine id")),
  }));

  router.route("PUT", "/api/catalog/products/:id", "operator", async (ctx) => {
    const id = productIdOf(ctx.params[0]);
    const body = parseBody(ProductUpsertRequest, await readBody(ctx.req, JSON_BODY));
    const r = await catalog.upsertProduct(id, body);
    await auth.audit({ ...by(ctx), action: "catalog.product", target: id, detail: { created: r.created, product: body } });
    await audited(ctx, r.machines, { product: id });
    return { status: r.created ? 201 : 200, body: { product: r.product, machines: syncView(r.machines) } };
  });

  router.route("DELETE", "/api/catalog/products/:id", "operator", async (ctx) => {
    const id = productIdOf(ctx.params[0]);
    try {
      await catalog.deleteProduct(id);
    } catch (err) {
      if (err instanceof FleetError) await auth.audit({ ...by(ctx), action: "catalog.product.delete", target: id, ok: false, detail: { error: err.code } });
      throw err;
    }
    await auth.audit({ ...by(ctx), action: "catalog.product.delete", target: id });
    return { status: 200, body: { deleted: id } };
  });

  router.route("PUT", "/api/catalog/machines/:id/slots/:slot", "operator", async (ctx) => {
    const machineId = parseParam(MachineId, ctx.params[0], "not a machine id");
    const slot = parseParam(SlotId, ctx.params[1], 'not a slot (e.g. "A1", or "S12" for an MDB selection)');
    const body = parseBody(SlotAssignmentRequest, await readBody(ctx.req, JSON_BODY));
    const r = await catalog.assign(machineId, slot, body.product, body.price ?? null);
    await auth.audit({ ...by(ctx), action: "catalog.assign", target: machineId, detail: { slot, product: body.product, price: body.price ?? null } });
    await audited(ctx, [r.machine], { slot, product: body.product });
    return { status: 200, body: { assignment: r.assignment, machines: syncView([r.machine]) } };
  });

  router.route("POST", "/api/pictures", "operator", async (ctx) => {
    const body = parseBody(PictureUploadJson, await readBody(ctx.req, MAX_UPLOAD_BODY), MAX_UPLOAD_BODY);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.dataBase64)) throw new FleetError(PictureErrorCode.BAD_IMAGE, "dataBase64 is not base64", 400);
    const r = await catalog.uploadPicture(Buffer.from(body.dataBase64, "base64"));
    await auth.audit({ ...by(ctx), action: "catalog.picture", target: r.picture.sha256, detail: { bytes: r.picture.bytes, sourceBytes: r.sourceBytes, width: r.picture.width, height: r.picture.height } });
    const { created, ...answer } = r;
    return { status: created ? 201 : 200, body: answer };
  });

  // Immutable: a picture's address is its hash.
  router.route("GET", "/api/pictures/:sha", "viewer", async ({ params: [sha] }) => {
    if (!/^[0-9a-f]{64}$/.test(sha ?? "")) throw new FleetError("bad_value", "a picture is addressed by its sha256 (64 lower-case hex digits)", 400);
    const p = await catalog.store.getPicture(sha!);
    if (!p) throw new FleetError(CatalogErrorCode.PICTURE_NOT_FOUND, `no picture ${sha}`, 404);
    return { status: 200, body: p.data, type: p.type, headers: { "cache-control": "private, max-age=31536000, immutable" } };
  });
}

function productIdOf(id: string | undefined): string {
  return parseParam(ProductId, id, 'not a product id (lower-case letters, digits and dashes, e.g. "crisps-salt")');
}

function parseParam<S extends z.ZodType<string>>(schema: S, v: string | undefined, message: string): string {
  const r = schema.safeParse(v);
  if (!r.success) throw new FleetError("bad_value", message, 400);
  return r.data;
}

function parseBody<S extends z.ZodType>(schema: S, text: string, maxBytes = JSON_BODY): z.output<S> {
  const r = parseJson(schema, text, { maxBytes });
  if (!r.ok) throw new FleetError(r.error.code, `${r.error.path}: ${r.error.message}`, 400);
  return r.value;
}

/** Reads the body up to `max` bytes; a larger one is refused as soon as it passes the limit (not read to the end). */
async function readBody(req: http.IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) throw new FleetError(PictureErrorCode.TOO_LARGE, `the body is larger than ${max} bytes`, 413);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new FleetError(PictureErrorCode.TOO_LARGE, `the body is larger than ${max} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text === "" ? "{}" : text;
}
