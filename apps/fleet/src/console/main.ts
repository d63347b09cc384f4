// The console's entry: registers the elements of the first load. Pages that are not needed at once (the machine
// page, users, audit) are defined on their first navigation from their own chunks (lazy.ts).
import { FleetApp } from "./app.js";
import { FleetLogin } from "./login.js";

for (const [name, el] of [["zv-fleet-app", FleetApp], ["zv-fleet-login", FleetLogin]] as const) {
  if (!customElements.get(name)) customElements.define(name, el);
}
