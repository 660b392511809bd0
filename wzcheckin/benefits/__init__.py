"""Benefits room: welfare packs, data bonus, points, training, activities, rights, services."""
