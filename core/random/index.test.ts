import { describe, expect, test } from "bun:test";
import { defaultGenerator, globalNumpy, manualSeed, npSeed, TorchGenerator } from "./index.ts";

describe("global generators", () => {
  test("defaultGenerator starts like PyTorch's (seed 67280421310721)", () => {
    // bun test shares one process between test files, so look at a fresh process's generator.
    const probe = `import { defaultGenerator } from ${JSON.stringify(import.meta.dir + "/index.ts")};
console.log(String(defaultGenerator.initialSeed()), defaultGenerator.random());`;
    const r = Bun.spawnSync([process.execPath, "-e", probe]);
    const [seed, first] = r.stdout.toString().trim().split(" ");
    expect(seed).toBe("67280421310721");
    expect(Number(first)).toBe(new TorchGenerator().random());
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
