"""Android APK collectors: archive, manifest, certificates, resources, DEX index, reachability."""
