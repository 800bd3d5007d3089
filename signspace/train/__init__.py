"""Fine-tuning: what differs per kind of model, the Trainer and its outputs, the finetune entry point."""
