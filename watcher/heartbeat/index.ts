export { HealthCheck, type DeliveryHealth, type Health, type HealthInputs } from './health.js';
export { failUrl, HEARTBEAT_OFF, startHeartbeat, type Heartbeat, type HeartbeatOptions, type HeartbeatStatus } from './sender.js';
