# Inputs the migration could not decide. None has a default, so terraform plan
# asks for each; set them in terraform.tfvars or with -var.

variable "image_label_printer" {
  type        = string
  description = "Container image for module \"label_printer\" (V1: node loader, main.path /opt/dock/modules/label_printer.js)."
}

variable "image_cloud_writer" {
  type        = string
  description = "Container image for module \"cloud_writer\" (V1: node loader, main.path /opt/dock/modules/iothub_writer.js)."
}
