"""WeChat mini-program collectors: wxapkg unpacking and decryption, app.json, JS/WXML privacy-API use."""
