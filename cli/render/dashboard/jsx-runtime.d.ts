/**
 * Minimal JSX typing for the dashboard: the project does not install @types/react (ink's own
 * types then see React as `any`). Delete this file if @types/react is ever added.
 */
declare module "react/jsx-runtime" {
  export namespace JSX {
    type Element = unknown;
    interface ElementChildrenAttribute {
      children: {};
    }
    interface IntrinsicAttributes {
      key?: string | number | null;
    }
    interface IntrinsicElements {
      [name: string]: Record<string, unknown>;
    }
  }
  export const jsx: (...args: unknown[]) => unknown;
  export const jsxs: (...args: unknown[]) => unknown;
  export const Fragment: unknown;
}
