# MicroPython side of bench/heap.py: argv = IMAGE|- MODULE...; prints "name bytes" per module,
# then "total", each the growth of gc.mem_alloc() across its import, after a collection.
import gc
import sys

image = sys.argv[1]
if image != "-":
    import vfs

    with open(image, "rb") as f:
        vfs.mount(vfs.VfsRom(f.read()), "/rom")  # the bytes stay referenced by the mount
    sys.path.insert(0, "/rom")


def grown(name):
    gc.collect()
    before = gc.mem_alloc()
    __import__(name)
    gc.collect()
    return gc.mem_alloc() - before


print("asyncio", grown("asyncio"))
gc.collect()
start = gc.mem_alloc()
for name in sys.argv[2:]:
    print(name, grown(name))
gc.collect()
print("total", gc.mem_alloc() - start)
