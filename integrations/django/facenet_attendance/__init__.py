"""facenet-wasm's attendance backend as a Django app: the HTTP contract of facenet-server
(the repository's README, "The backend") on Django's ORM, PostgreSQL or SQLite.

Vectors are computed in the browser (www/client/facenet.js); this app validates and stores them,
matches faces to enrolled people and clusters the rest. It never runs a model.
"""
