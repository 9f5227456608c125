"""How the code is put together: the Qt-free engine, its layers, the facade the app uses."""
