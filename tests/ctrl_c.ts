/** For Ctrl-C tests: read a spawned xt's stdout, send SIGINT (a terminal's Ctrl-C) once `when` says so. */
import type { Subprocess } from "bun";

/** All of stdout, and whether SIGINT was sent (once, the first time `when(text so far)` held). */
export async function interruptWhen(proc: Subprocess<"ignore" | "pipe" | "inherit", "pipe", "ignore" | "pipe" | "inherit">, when: (text: string) => boolean): Promise<{ text: string; pressed: boolean }> {
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let pressed = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    if (!pressed && when(text)) {
      proc.kill("SIGINT"); // the first one stops after the step
      pressed = true;
    }
  }
  return { text, pressed };
}
