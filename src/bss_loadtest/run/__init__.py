"""The Locust glue: the run's state on the Environment, its listeners, the shape, the live export."""
