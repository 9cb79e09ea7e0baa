"""Deep detector models and their checkpoints. Modules here import torch: load them lazily."""
