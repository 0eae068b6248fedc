export * from "./schedule.js";
export * from "./adamw.js";
export * from "./clip.js";
export * from "./guard.js";
