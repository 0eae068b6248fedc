import { fileURLToPath } from "node:url";

/** ../shared/data/glue beside the repository (tests only). */
export const GLUE_DATA = fileURLToPath(new URL("../../../../shared/data/glue", import.meta.url));
