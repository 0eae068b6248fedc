import { InvalidArgumentError, Option } from "commander";
import { DEVICE_FORMS, parseDevice } from "../device.js";

/** The `--device` option of every job: auto, cpu, cuda or cuda:N, checked when parsed (see ../device.ts). */
export function deviceOption(description: string, defaultValue?: string): Option {
  const o = new Option("--device <device>", `${description} (${DEVICE_FORMS})`).argParser((v: string) => {
    try {
      parseDevice(v);
    } catch {
      throw new InvalidArgumentError(`expected ${DEVICE_FORMS}, got "${v}"`);
    }
    return v;
  });
  return defaultValue === undefined ? o : o.default(defaultValue);
}
