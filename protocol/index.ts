export * from './profile.js';
export * from './status.js';
export * from './ticket.js';
export * from './validate.js';
