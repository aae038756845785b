# Written by `starattn report`; re-plot with: gnuplot delta_star-h2-b2.gp (writes delta_star-h2-b2.png and delta_star-h2-b2.svg)
set terminal pngcairo size 1080,600 font "sans,11" noenhanced
set output "delta_star-h2-b2.png"
set datafile separator "\t"
set datafile missing "?"
set title "SmolLM2-135M-Instruct.Q4_1: star-h2-b2 minus dense, accuracy per task (95% CI)" font ",13"
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
set style data histograms
set style histogram errorbars gap 1.5 lw 1.5
set style fill solid 0.75 border rgb "#333333"
set boxwidth 0.9
set xtics rotate by -35 left
set xzeroaxis lt -1 lw 1.5
set yrange [-2.0000:2.0000]
set ylabel "accuracy delta, star-h2-b2 - dense (points)"
set xlabel "task"
set key outside right top box opaque width 1 title "length"
set rmargin 14
set bmargin 8
set label "every delta and interval is 0: identical scores" at graph 0.5, 0.9 center
plot "delta_star-h2-b2.dat" using 2:3:4:xtic(1) lc rgb "#4c72b0" title "4k", \
     "delta_star-h2-b2.dat" using 5:6:7 lc rgb "#dd8452" title "8k"
set terminal svg size 1080,600 dynamic font "sans,11" noenhanced
set output "delta_star-h2-b2.svg"
replot
set output
