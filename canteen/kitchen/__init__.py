"""The kitchen loop: the waste terminal beside the kitchen scale, the kitchen-waste ledger, dish by dish."""
