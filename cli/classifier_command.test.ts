/** The classifier commands' text output (train vit, train cnn, eval vit, eval cnn). */
import { expect, test } from "bun:test";
import { confusionTable } from "./classifier_command.ts";

/** Where each of the last `n` whitespace-separated fields of a line ends (right-aligned columns). */
function fieldEnds(line: string, n: number): number[] {
  const ends = [...line.matchAll(/\S+/g)].map((m) => m.index! + m[0].length);
  return ends.slice(-n);
}

test("the confusion matrix header lines up with its rows (Fashion-MNIST's long class names)", () => {
  const classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
  const confusion = classes.map((_, i) => classes.map((_, j) => (i === j ? 912 : 9)));
  const lines = confusionTable({ classes, confusion, perClassAccuracy: classes.map(() => 0.912) }).split("\n");
  expect(lines.length).toBe(11);
  const header = fieldEnds(lines[0]!, 11);
  expect(lines[0]!.split(/\s+/).slice(-11)).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "acc"]);
  for (const row of lines.slice(1)) expect(fieldEnds(row, 11)).toEqual(header);
});

test("the header lines up with short class names and wide counts too", () => {
  const classes = ["a", "b", "c"];
  const confusion = [[123456, 1, 2], [3, 4, 5], [6, 7, 8]];
  const lines = confusionTable({ classes, confusion, perClassAccuracy: [0.9, null, 0.1] }).split("\n");
  const header = fieldEnds(lines[0]!, 4);
  for (const row of lines.slice(1)) expect(fieldEnds(row, 4)).toEqual(header);
  expect(lines[2]).toMatch(/ -$/); // no accuracy for an empty row
});
