output "gateways_by_site" {
  description = "Gateway ids of each site."
  value = {
    for site in keys(var.sites) : site => sort([
      for id, g in local.gateways : id if g.site == site
    ])
  }
}

output "connections" {
  description = "What each gateway needs to reach the hub, for provisioning."
  value       = { for id, d in edgeplane_device.gw : id => d.connection_info }
  sensitive   = true
}
