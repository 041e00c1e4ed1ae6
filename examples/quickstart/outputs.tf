output "device_keys" {
  description = "Each gateway's key; provisioning writes it into the gateway's configuration."
  value       = { for id, d in edgeplane_device.gw : id => d.key }
  sensitive   = true
}

output "devices" {
  description = "The gateways this configuration manages."
  value       = sort([for d in edgeplane_device.gw : d.device_id])
}
