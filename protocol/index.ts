export * from './api.js';
export * from './job.js';
export * from './messages.js';
export * from './profile.js';
export * from './status.js';
export * from './ticket.js';
export * from './topics.js';
export * from './validate.js';
