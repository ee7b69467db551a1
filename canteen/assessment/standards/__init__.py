"""Standard files shipped with canteen; a bureau loads its local standard from its own file."""
