import { describe, expect, test } from "bun:test";
import { defaultGenerator, globalNumpy, manualSeed, npSeed, TorchGenerator } from "./index.ts";

describe("global generators", () => {
  test("defaultGenerator starts like PyTorch's (seed 67280421310721)", () => {
    // Use a clone so other tests sharing the module see an untouched default generator.
    expect(defaultGenerator.initialSeed()).toBe(67280421310721n);
    expect(defaultGenerator.clone().random()).toBe(new TorchGenerator().random());
  });

  test("manualSeed seeds torch only; npSeed seeds numpy only", () => {
    npSeed(231);
    const npBefore = JSON.stringify(globalNumpy.getState());
    manualSeed(231);
    expect(JSON.stringify(globalNumpy.getState())).toBe(npBefore);
    const a = new Float32Array(4);
    defaultGenerator.fillUniform(a, 0, 1);
    expect(a[0]).toBe(0.06247466802597046);
    const torchBefore = JSON.stringify(defaultGenerator.getState());
    npSeed(1);
    expect(JSON.stringify(defaultGenerator.getState())).toBe(torchBefore);
    npSeed(231);
    expect(globalNumpy.randint(0, 10, 3)).toEqual([7, 0, 4]);
    expect(manualSeed(0)).toBe(defaultGenerator);
  });
});
