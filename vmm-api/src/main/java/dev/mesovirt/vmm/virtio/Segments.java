package dev.mesovirt.vmm.virtio;

import dev.mesovirt.vmm.memory.GuestMemory;
import java.util.ArrayList;
import java.util.List;

/** Helpers over a chain's segment lists: sub-ranges by byte offset, gathering and scattering small data. */
public final class Segments {
    private Segments() {}

    public static long total(List<DescriptorChain.Segment> segs) {
        long n = 0;
        for (DescriptorChain.Segment s : segs) {
            n += s.length();
        }
        return n;
    }

    /** The part of {@code segs} covering bytes [offset, offset+length) of their concatenation (clipped at the end). */
    public static List<DescriptorChain.Segment> range(List<DescriptorChain.Segment> segs, long offset, long length) {
        List<DescriptorChain.Segment> out = new ArrayList<>(segs.size());
        long pos = 0;
        long end = offset + length;
        for (DescriptorChain.Segment s : segs) {
            long sStart = pos;
            long sEnd = pos + s.length();
            pos = sEnd;
            long a = Math.max(sStart, offset);
            long b = Math.min(sEnd, end);
            if (a < b) {
                out.add(new DescriptorChain.Segment(s.address() + (a - sStart), (int) (b - a)));
            }
        }
        return out;
    }

    /** Reads up to {@code length} bytes from the start of {@code segs}. */
    public static byte[] gather(GuestMemory memory, List<DescriptorChain.Segment> segs, int length) {
        byte[] out = new byte[(int) Math.min(length, total(segs))];
        int done = 0;
        for (DescriptorChain.Segment s : segs) {
            if (done == out.length) {
                break;
            }
            int n = Math.min(s.length(), out.length - done);
            memory.read(s.address(), out, done, n);
            done += n;
        }
        return out;
    }

    /** Writes {@code data} from the start of {@code segs}, as far as they reach; returns the bytes written. */
    public static int scatter(GuestMemory memory, List<DescriptorChain.Segment> segs, byte[] data) {
        int done = 0;
        for (DescriptorChain.Segment s : segs) {
            if (done == data.length) {
                break;
            }
            int n = Math.min(s.length(), data.length - done);
            memory.write(s.address(), data, done, n);
            done += n;
        }
        return done;
    }
}
