"""Search and true shuffle over the whole catalog: a Tantivy index per catalog generation."""
