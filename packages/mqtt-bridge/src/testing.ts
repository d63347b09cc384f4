// `@zapvend/mqtt-bridge/testing`: the bridge's Mosquitto test fixture for the tests of other packages (the fleet, the
// machine daemon, the root system tests). No production code imports it.
export { Mosquitto, mosquittoBinary, mosquittoInstalled, testFileBroker, type MosquittoOptions } from "./__fixtures__/mosquitto.js";
