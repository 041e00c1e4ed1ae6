# Inputs the migration could not decide. None has a default, so terraform plan
# asks for each; set them in terraform.tfvars or with -var.

variable "device_id" {
  type        = string
  description = "Edgeplane device id of the migrated gateway: 1 to 128 letters, digits, '.', '_' or '-'."
}

variable "upstream_url" {
  type        = string
  description = "URL of the MQTT broker that receives the gateway's $upstream messages (mqtts://host:8883). Edgeplane speaks MQTT 3.1.1 to a broker, not the IoT Hub protocol."
}
