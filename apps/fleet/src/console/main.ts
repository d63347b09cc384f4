// The console's entry: registers the one element the page uses.
import { FleetApp } from "./app.js";

if (!customElements.get("zv-fleet-app")) customElements.define("zv-fleet-app", FleetApp);
