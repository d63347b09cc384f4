/**
 * @zapvend/hal — the hardware of a zapvend machine: johnny-five drivers (L298N pump, spiral motors with home
 * switches, flow meter, drop/cup/door sensors, thermometer), the two vend operations (`pour`, `vendSpiral`:
 * bounded, cancellable, always stopping the actuator) and the boards (`sim`, `raspi`, `firmata`), plus the
 * hardware checks the harness and the contract suite share. The sim's scripting lives in `@zapvend/hal/sim`.
 */
export {
  openHardware,
  MAX_POUR_ML,
  type Hardware,
  type HardwareEvents,
  type HardwareFault,
  type HardwareStatus,
  type DoorState,
  type HalPourOptions,
  type OpenHardwareOptions,
  type SensorReadings,
} from "./hardware.js";
export type { PourOptions, SpiralOptions } from "./operations.js";
export { VendError, HardwareError, HalInputError, isVendError, FaultCode } from "./errors.js";
export { systemClock, silentLogger, type Clock, type Logger } from "./clock.js";
export { parsePinmap, loadPinmap, calibrationPathFor, loadCalibration, saveCalibration, applyCalibration } from "./pinmap-file.js";
export { runChecks, listChecks, type CheckContext, type HardwareCheck, type CheckProgress } from "./checks.js";
export type { GpiodBinding, GpioChip, GpioChipInfo, EdgeEvent, InputRequest, LineBias, OutputLine, InputLine, PwmChipInfo, PwmOutput } from "./boards/gpiod/binding.js";
