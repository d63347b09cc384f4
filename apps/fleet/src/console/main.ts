// The console's entry: registers the elements the page uses.
import { FleetAdmin, FleetAudit } from "./admin.js";
import { FleetApp } from "./app.js";
import { FleetLogin } from "./login.js";
import { FleetMachineView } from "./machine-view.js";

for (const [name, el] of [["zv-fleet-app", FleetApp], ["zv-fleet-login", FleetLogin], ["zv-fleet-admin", FleetAdmin], ["zv-fleet-audit", FleetAudit], ["zv-fleet-machine", FleetMachineView]] as const) {
  if (!customElements.get(name)) customElements.define(name, el);
}
