export * from "./folder.js";
export * from "./card.js";
