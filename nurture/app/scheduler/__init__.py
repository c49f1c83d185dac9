"""The scheduler: claims due rows in batches under a lease and enqueues their ids."""
