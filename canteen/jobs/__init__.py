"""Background jobs: what each one does (service), its lock table (models), `canteen jobs` (cli), the scheduler."""
