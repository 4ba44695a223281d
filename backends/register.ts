/**
 * Registers every device backend with core (core/device.ts). The xt command imports this first,
 * and bunfig.toml preloads it for the tests. Registering loads nothing native: each backend's
 * library loads when its device is chosen.
 */
import "./cpu/register.ts";
import "./cuda/register.ts";
