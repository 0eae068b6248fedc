export * from "./folder.js";
export * from "./card.js";
export * from "./publish.js";
