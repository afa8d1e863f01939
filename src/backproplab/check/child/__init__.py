"""Code that runs in the student's process (standalone: started with ``python -I``)."""
