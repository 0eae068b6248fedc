// `node --import <this file> script.ts`: run workspace TypeScript sources without a build.
import { register } from "node:module";
register(new URL("./ts-hooks.mjs", import.meta.url));
